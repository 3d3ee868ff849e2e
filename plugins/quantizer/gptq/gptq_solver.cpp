#include "gptq_solver.h"

#include "device_stream.h"
#include "gptq_cuda.h"
#include "hessian_accumulator.h"

#include <lmf/sdk/error.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace lmf::quant::gptq {
namespace {

using lmf::sdk::fail;

// Note [Dampening]
// GPTQ inverts H + λI with λ = damp_percent · mean(diag H), which also makes a Hessian of
// fewer calibration rows than inputs (singular) invertible. When float32 rounding leaves
// the Cholesky factorization of H + λI or of its inverse failing, we retry with 10×, 100×
// and 1000× damp_percent (the reference stops with an error); a larger λ pulls GPTQ
// towards round-to-nearest (λ → ∞ gives exactly RTN), so a retry trades a little accuracy
// for a result. The dampening used is reported; after the last retry the error names the
// layer.
constexpr int kDampRetries = 3;

std::string decimal(double value) {
  std::ostringstream text;
  text << value;
  return text.str();
}

struct InverseFactor {
  torch::Tensor upper;  // the upper Cholesky factor of (H + λI)⁻¹
  double damp_percent = 0;
};

InverseFactor inverse_factor(const torch::Tensor& h, double damp_percent,
                             const std::string& layer) {
  const torch::Tensor mean_diagonal = h.diagonal().mean();
  double percent = damp_percent;
  for (int attempt = 0; attempt <= kDampRetries; ++attempt, percent *= 10.0) {
    torch::Tensor damped = h.clone();
    damped.diagonal().add_(mean_diagonal * percent);
    auto [lower, info] = at::linalg_cholesky_ex(damped);
    if (info.item<int64_t>() != 0) continue;
    auto [upper, inverse_info] = at::linalg_cholesky_ex(torch::cholesky_inverse(lower), true);
    if (inverse_info.item<int64_t>() == 0 && torch::isfinite(upper).all().item<bool>())
      return {upper, percent};
  }
  fail(LMF_ERR_DATA, layer +
                         ": the Hessian of its calibration inputs is not positive definite "
                         "even with damp_percent " +
                         decimal(percent / 10.0) + " (tried " + decimal(damp_percent) +
                         " and 10x, 100x, 1000x that): check the inputs given to observe");
}

// Note [Group grids]
// With groups and without static_groups, the reference fits a group's grid when the column
// loop reaches the group's first column, from W[:, first : first + group_size] — the
// matrix as it stood when the current block of `block_size` columns began: the updates
// made inside the block live in its working copy W1. We do the same (a group that starts
// mid-block sees its columns without the block's earlier updates), so results match the
// reference for every group and block size. With act-order the groups are runs of
// group_size columns in activation order; g_idx maps each input column to its group.
// static_groups fits every group (of consecutive input columns) before any update and
// before the permutation, so that act-order keeps the groups of the natural order.

using GridFit = std::function<RowGrids(const torch::Tensor&)>;

// The grid each column of the block [i1, i2) rounds onto, as indices into `grids`. Groups
// that start in the block are fitted here, from W as the block starts: what the reference
// fits when its loop reaches their first column (Note [Group grids]).
std::vector<size_t> block_grids(const torch::Tensor& w, int64_t i1, int64_t i2,
                                const GptqOptions& options, const std::vector<int64_t>& perm_host,
                                const GridFit& fit, std::vector<RowGrids>& grids) {
  std::vector<size_t> grid_of;
  grid_of.reserve(static_cast<size_t>(i2 - i1));
  for (int64_t col = i1; col < i2; ++col) {
    if (options.group_size <= 0) {
      grid_of.push_back(0);
    } else if (options.static_groups) {
      const int64_t natural = options.desc_act ? perm_host[static_cast<size_t>(col)] : col;
      grid_of.push_back(static_cast<size_t>(natural / options.group_size));
    } else {
      if (col % options.group_size == 0)
        grids.push_back(fit(w.slice(1, col, std::min(col + options.group_size, w.size(1)))));
      grid_of.push_back(grids.size() - 1);
    }
  }
  return grid_of;
}

// One lazy block [i1, i2) of the permuted float32 weight `w` and the upper factor `hinv`.
struct Block {
  const torch::Tensor& w;
  const torch::Tensor& hinv;
  int64_t i1, i2, maxq;
  const std::vector<RowGrids>& grids;
  const std::vector<size_t>& grid_of;  // per column of the block
};

// The reference's loop: each column rounded, its error spread over the block's later
// columns. Writes the block's codes, adds its losses per row, returns the errors
// [rows, i2 − i1] that the lazy update spreads over the columns after the block.
torch::Tensor solve_block_by_columns(const Block& b, torch::Tensor& codes, torch::Tensor& losses) {
  torch::Tensor w1 = b.w.slice(1, b.i1, b.i2).clone();
  torch::Tensor err1 = torch::zeros_like(w1);
  const torch::Tensor hinv1 = b.hinv.slice(0, b.i1, b.i2).slice(1, b.i1, b.i2);
  for (int64_t i = 0; i < b.i2 - b.i1; ++i) {
    const RowGrids& grid = b.grids[b.grid_of[static_cast<size_t>(i)]];
    const torch::Tensor column = w1.select(1, i).clone();
    const torch::Tensor d = hinv1[i][i];
    const torch::Tensor column_codes = round_to_grid(column, grid, b.maxq);
    const torch::Tensor difference = column - grid_values(column_codes, grid);
    codes.select(1, b.i1 + i).copy_(column_codes);
    losses.add_(difference.square() / d.square() / 2.0);
    const torch::Tensor err = difference / d;
    w1.slice(1, i).sub_(err.unsqueeze(1).matmul(hinv1[i].slice(0, i).unsqueeze(0)));
    err1.select(1, i).copy_(err);
  }
  return err1;
}

// The same block in one kernel (Note [GPTQ on the device]): the grids its columns use
// stacked [n, rows], each column's row in them.
torch::Tensor solve_block_on_device(const Block& b, torch::Tensor& codes, torch::Tensor& losses) {
  std::vector<size_t> used;
  std::vector<int32_t> column_grid;
  for (size_t grid : b.grid_of) {
    auto found = std::find(used.begin(), used.end(), grid);
    if (found == used.end()) found = used.insert(used.end(), grid);
    column_grid.push_back(static_cast<int32_t>(found - used.begin()));
  }
  std::vector<torch::Tensor> scales, zeros;
  for (size_t grid : used) {
    scales.push_back(b.grids[grid].scale);
    zeros.push_back(b.grids[grid].zero);
  }
  const torch::TensorOptions on_device = b.w.options();
  const torch::Tensor scale = torch::stack(scales).to(on_device).contiguous();
  const torch::Tensor zero = torch::stack(zeros).to(on_device).contiguous();
  const torch::Tensor grid_index = torch::tensor(column_grid, torch::kInt32).to(b.w.device());
  const int64_t rows = b.w.size(0), cols = b.w.size(1), width = b.i2 - b.i1;
  torch::Tensor err1 = torch::empty({rows, width}, on_device);

  BlockSolveArgs args;
  args.weight = b.w.data_ptr<float>() + b.i1;
  args.weight_stride = cols;
  args.hinv = b.hinv.data_ptr<float>() + b.i1 * cols + b.i1;
  args.hinv_stride = cols;
  args.scales = scale.data_ptr<float>();
  args.zeros = zero.data_ptr<float>();
  args.column_grid = grid_index.data_ptr<int32_t>();
  args.codes = codes.data_ptr<uint8_t>() + b.i1;
  args.codes_stride = cols;
  args.errors = err1.data_ptr<float>();
  args.losses = losses.data_ptr<float>();
  args.rows = rows;
  args.columns = width;
  args.maxq = static_cast<int>(b.maxq);
  run_on_stream(b.w.device(), [&](void* stream) { solve_block_cuda(args, stream); });
  return err1;
}

bool block_kernel_applies(const torch::Tensor& w, const GptqOptions& options, SolverPath path) {
  return path == SolverPath::kAuto && w.is_cuda() && gptq_cuda_compiled() &&
         options.block_size <= kMaxDeviceBlockColumns &&
         solve_block_fits(w.device().index(), std::min(options.block_size, w.size(1)));
}

std::vector<uint8_t> to_bytes(const torch::Tensor& codes) {
  torch::Tensor flat = codes.to(torch::kCPU, torch::kUInt8).contiguous();
  return std::vector<uint8_t>(flat.data_ptr<uint8_t>(), flat.data_ptr<uint8_t>() + flat.numel());
}

template <class T>
std::vector<T> to_vector(const torch::Tensor& values, torch::ScalarType type) {
  torch::Tensor flat = values.to(torch::kCPU, type).contiguous();
  return std::vector<T>(flat.data_ptr<T>(), flat.data_ptr<T>() + flat.numel());
}

}  // namespace

void validate(const GptqOptions& options) {
  auto refuse = [](const std::string& field, const std::string& why) {
    fail(LMF_ERR_INVALID_ARGUMENT, "gptq config \"" + field + "\" " + why);
  };
  if (options.bits != 2 && options.bits != 3 && options.bits != 4 && options.bits != 8)
    refuse("bits", "must be 2, 3, 4 or 8, got " + std::to_string(options.bits));
  if (options.group_size != -1 && options.group_size < 1)
    refuse("group_size", "must be -1 or positive, got " + std::to_string(options.group_size));
  if (!(options.damp_percent > 0.0 && options.damp_percent <= 1.0))
    refuse("damp_percent", "must be in (0, 1], got " + std::to_string(options.damp_percent));
  if (options.block_size < 1)
    refuse("block_size", "must be positive, got " + std::to_string(options.block_size));
}

GptqResult gptq_quantize(const torch::Tensor& weight, const torch::Tensor& hessian,
                         const GptqOptions& options, std::string_view layer, SolverPath path) {
  validate(options);
  const std::string name = "layer \"" + std::string(layer) + "\"";
  if (weight.dim() != 2 || !weight.is_floating_point())
    fail(LMF_ERR_INVALID_ARGUMENT,
         "weight of " + name + ": expected a floating-point [out_features, in_features] tensor");
  if (hessian.dim() != 2 || hessian.size(0) != hessian.size(1) || hessian.size(0) != weight.size(1))
    fail(LMF_ERR_INVALID_ARGUMENT, "weight of " + name + " has " + std::to_string(weight.size(1)) +
                                       " input features, but its calibration inputs had " +
                                       std::to_string(hessian.dim() == 2 ? hessian.size(1) : -1));

  torch::Tensor h = hessian.to(torch::kFloat32).clone();
  torch::Tensor w = weight.to(h.device(), torch::kFloat32).clone();
  expect_finite(w, "weight of " + name);
  const int64_t rows = w.size(0), cols = w.size(1);
  const int64_t maxq = max_code(options.bits);
  const bool grouped = options.group_size > 0;
  const int64_t group_size = grouped ? options.group_size : cols;

  auto fit_grids = [&](const torch::Tensor& columns) {
    try {
      return fit_row_grids(columns, options.bits, options.sym, options.grid_rule);
    } catch (const std::invalid_argument& e) {
      fail(LMF_ERR_INVALID_ARGUMENT, "weight of " + name + ": " + e.what());
    }
  };

  GptqResult result;
  // Inputs that were zero on every calibration row carry no information: their weights
  // become 0 (the inputs' own zeros make that exact on the calibration data).
  const torch::Tensor dead = h.diagonal() == 0;
  result.dead_columns = dead.sum().item<int64_t>();
  if (result.dead_columns > 0) {
    h.diagonal().masked_fill_(dead, 1.0);
    w.masked_fill_(dead.unsqueeze(0), 0.0);
  }

  std::vector<RowGrids> grids;  // one per group, in group order (Note [Group grids])
  if (!grouped) {
    grids.push_back(fit_grids(w));
  } else if (options.static_groups) {
    for (int64_t first = 0; first < cols; first += group_size)
      grids.push_back(fit_grids(w.slice(1, first, std::min(first + group_size, cols))));
  }

  torch::Tensor perm;
  std::vector<int64_t> perm_host;
  if (options.desc_act) {
    // A stable sort, so that ties (e.g. dead columns) keep the natural order on every device.
    perm = std::get<1>(h.diagonal().sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
    w = w.index_select(1, perm);
    h = h.index_select(0, perm).index_select(1, perm);
    perm_host = to_vector<int64_t>(perm, torch::kInt64);
  }

  const InverseFactor inverse = inverse_factor(h, options.damp_percent, name);
  result.damp_percent = inverse.damp_percent;
  const torch::Tensor hinv = inverse.upper.contiguous();
  w = w.contiguous();

  torch::Tensor codes = torch::zeros(w.sizes(), w.options().dtype(torch::kUInt8));  // permuted order
  torch::Tensor losses = torch::zeros({rows}, w.options());
  const bool on_device = block_kernel_applies(w, options, path);
  for (int64_t i1 = 0; i1 < cols; i1 += options.block_size) {
    const int64_t i2 = std::min(i1 + options.block_size, cols);
    const std::vector<size_t> grid_of = block_grids(w, i1, i2, options, perm_host, fit_grids, grids);
    const Block block{w, hinv, i1, i2, maxq, grids, grid_of};
    torch::Tensor err1;
    if (on_device) {
      try {
        err1 = solve_block_on_device(block, codes, losses);
      } catch (const std::runtime_error& e) {  // a CUDA failure, named by the layer
        fail(LMF_ERR_INTERNAL, "GPTQ of " + name + " on " + w.device().str() + ": " + e.what());
      }
      ++result.device_blocks;
    } else {
      err1 = solve_block_by_columns(block, codes, losses);
    }
    if (i2 < cols) w.slice(1, i2).sub_(err1.matmul(hinv.slice(0, i1, i2).slice(1, i2)));
  }
  result.loss = losses.sum().item<double>();

  torch::Tensor columns = torch::arange(cols, torch::TensorOptions().dtype(torch::kInt64));
  torch::Tensor g_idx = torch::div(columns, group_size, "floor");
  if (options.desc_act) {
    const torch::Tensor inverse_perm = perm.argsort();
    codes = codes.index_select(1, inverse_perm);
    // Without static groups, a column's group is its place in activation order.
    if (grouped && !options.static_groups)
      g_idx = torch::div(inverse_perm.cpu(), group_size, "floor");
  }

  std::vector<torch::Tensor> scales, zeros;
  for (const RowGrids& g : grids) {
    scales.push_back(g.scale);
    zeros.push_back(g.zero);
  }
  QuantizedCodes& out = result.codes;
  out.bits = options.bits;
  out.group_size = grouped ? options.group_size : -1;
  out.sym = options.sym;
  out.desc_act = options.desc_act;
  out.out_features = rows;
  out.in_features = cols;
  out.codes = to_bytes(codes);
  out.scales = to_vector<float>(torch::stack(scales), torch::kFloat32);
  out.zeros = to_vector<int32_t>(torch::stack(zeros), torch::kInt32);
  out.g_idx = to_vector<int32_t>(g_idx, torch::kInt32);
  return result;
}

}  // namespace lmf::quant::gptq
