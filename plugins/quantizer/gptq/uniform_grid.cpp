#include "uniform_grid.h"

#include "plugins/quantizer/common/gptq_grid.h"

#include <vector>

namespace lmf::quant::gptq {
namespace {

// The grids the GPTQ layout stores, row by row on the CPU (one small copy per group).
RowGrids checkpoint_grids(const torch::Tensor& columns, int bits, bool sym) {
  const torch::Tensor low = std::get<0>(columns.min(1)).to(torch::kCPU, torch::kFloat32);
  const torch::Tensor high = std::get<0>(columns.max(1)).to(torch::kCPU, torch::kFloat32);
  const int64_t rows = low.size(0);
  torch::Tensor scale = torch::empty({rows}, torch::kFloat32);
  torch::Tensor zero = torch::empty({rows}, torch::kFloat32);
  const float* lows = low.data_ptr<float>();
  const float* highs = high.data_ptr<float>();
  for (int64_t r = 0; r < rows; ++r) {
    const GridStep step = gptq_grid(lows[r], highs[r], bits, sym);
    scale.data_ptr<float>()[r] = step.scale;
    zero.data_ptr<float>()[r] = static_cast<float>(step.zero);
  }
  return {scale.to(columns.device()), zero.to(columns.device())};
}

// AutoGPTQ's find_params, vectorized; the symmetric range is widened to ±max|w| in every
// row (Note [GPTQ grid]), where AutoGPTQ does so only for rows with a negative weight.
RowGrids reference_grids(const torch::Tensor& columns, int bits, bool sym) {
  const double maxq = static_cast<double>(max_code(bits));
  torch::Tensor low = std::get<0>(columns.min(1)).clamp_max(0.0);
  torch::Tensor high = std::get<0>(columns.max(1)).clamp_min(0.0);
  if (sym) {
    high = torch::maximum(low.abs(), high);
    low = -high;
  }
  const torch::Tensor empty = (low == 0) & (high == 0);
  low = low.masked_fill(empty, -1.0);
  high = high.masked_fill(empty, 1.0);

  RowGrids grids;
  grids.scale = (high - low) / maxq;
  grids.zero =
      sym ? torch::full_like(grids.scale, (maxq + 1.0) / 2.0) : torch::round(-low / grids.scale);
  return grids;
}

}  // namespace

RowGrids fit_row_grids(const torch::Tensor& columns, int bits, bool sym, GridRule rule) {
  return rule == GridRule::kCheckpoint ? checkpoint_grids(columns, bits, sym)
                                       : reference_grids(columns, bits, sym);
}

torch::Tensor round_to_grid(const torch::Tensor& w, const RowGrids& grids, int64_t maxq) {
  return torch::clamp(torch::round(w / grids.scale) + grids.zero, 0.0, static_cast<double>(maxq));
}

torch::Tensor grid_values(const torch::Tensor& codes, const RowGrids& grids) {
  return grids.scale * (codes - grids.zero);
}

}  // namespace lmf::quant::gptq
