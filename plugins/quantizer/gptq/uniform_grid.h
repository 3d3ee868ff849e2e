// The uniform integer grids GPTQ rounds onto, one per output row and group of input
// columns: w ≈ scale · (q − zero) with q an integer in [0, 2^bits − 1].
#pragma once

#include <torch/torch.h>

namespace lmf::quant::gptq {

// How a group's grid is fitted to its weights.
enum class GridRule {
  // lmf::quant::gptq_grid (Note [GPTQ grid]): the scale rounded to the fp16 the GPTQ layout
  // stores and a zero the layout can store, so that the codes GPTQ chooses, and the errors
  // it feeds back, are those of the weights a loader will compute. What the plugin uses.
  kCheckpoint,
  // AutoGPTQ's Quantizer.find_params (perchannel, no MSE search) in float32, with the
  // symmetric range of Note [GPTQ grid]: what tests compare with the reference GPTQ.
  kReference,
};

// One grid per output row: scale and zero [rows] float32 (zero holds integers).
struct RowGrids {
  torch::Tensor scale;
  torch::Tensor zero;
};

// The largest code of a `bits`-bit grid, 2^bits − 1.
inline int64_t max_code(int bits) {
  return (int64_t{1} << bits) - 1;
}

// Fits each row's grid to `columns` [rows, k] under `rule`, on the columns' device.
// Throws std::invalid_argument when a grid cannot be stored (kCheckpoint: a scale beyond
// fp16); callers add the layer's name.
RowGrids fit_row_grids(const torch::Tensor& columns, int bits, bool sym, GridRule rule);

// The codes of one column `w` [rows] on `grids`: clamp(round(w / scale) + zero, 0, maxq),
// rounding half to even as torch.round and lmf::quant::grid_code do. float32,
// integer-valued.
torch::Tensor round_to_grid(const torch::Tensor& w, const RowGrids& grids, int64_t maxq);

// scale · (codes − zero): the grid's value for each code.
torch::Tensor grid_values(const torch::Tensor& codes, const RowGrids& grids);

}  // namespace lmf::quant::gptq
