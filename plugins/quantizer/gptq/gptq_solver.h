// GPTQ (Frantar, Ashkboos, Hoefler and Alistarh, "GPTQ: Accurate Post-Training
// Quantization for Generative Pre-trained Transformers", 2022): quantizes a linear layer's
// weight column by column, each rounding error spread over the columns not yet quantized
// through the inverse Hessian of the layer's inputs, so that the layer's outputs on the
// calibration data move as little as possible. Follows the reference implementation
// (IST-DASLab/gptq, AutoGPTQ's gptq.py: fasterquant) step by step; where we differ, a Note
// says so. libtorch throughout — it runs on the device of the Hessian, CPU or CUDA — with the
// lazy block in one kernel on CUDA (Note [GPTQ on the device]).
#pragma once

#include "plugins/quantizer/common/quantized_codes.h"
#include "uniform_grid.h"

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace lmf::quant::gptq {

struct GptqOptions {
  int bits = 4;                // 2, 3, 4 or 8
  int64_t group_size = 128;    // input columns per group; -1: one grid per output row
  bool sym = true;             // symmetric grids (zero at 2^(bits−1))
  bool desc_act = false;       // act-order: columns in decreasing diag(H)
  bool static_groups = false;  // with groups: fit every group's grid before any update
  double damp_percent = 0.01;  // dampening, as a fraction of mean(diag H)
  int64_t block_size = 128;    // columns per lazy batch update
  GridRule grid_rule = GridRule::kCheckpoint;
};

// Throws lmf::sdk::Error (LMF_ERR_INVALID_ARGUMENT) naming the field that is out of range.
void validate(const GptqOptions& options);

// Note [GPTQ loss]
// Fixing column i of a row to q moves the quadratic proxy ½·ΔW·H·ΔWᵀ of the layer's output
// error up by (w − q)² / (2 [H_F⁻¹]ᵢᵢ) once the columns F not yet fixed are re-fitted, and
// [H_F⁻¹]ᵢᵢ = d², d the diagonal of the upper Cholesky factor of H⁻¹ at i. The reference
// sums these as "error"; the sum equals ½ tr((W − Ŵ) H_λ (W − Ŵ)ᵀ) for the dampened H_λ
// whatever codes were chosen (tests/quantizer_gptq checks that identity). With n counting
// tokens (Note [Hessian scale]) and H = 2/n·XᵀX, that is the mean over the calibration
// tokens x of ||(W − Ŵ)·x||², plus the dampening's share.
struct GptqResult {
  QuantizedCodes codes;      // in the weight's own column order; g_idx maps columns to groups
  double loss = 0.0;         // Σ (w − q)² / (2 d²): the reference's "error" (Note [GPTQ loss])
  double damp_percent = 0;   // the dampening that made H positive definite (Note [Dampening])
  int64_t dead_columns = 0;  // inputs that were always zero: their weights quantize as 0
  int64_t device_blocks = 0;  // lazy blocks solved by the CUDA kernel (Note [GPTQ on the device])
};

// How gptq_quantize solves a lazy block when the weight is on a CUDA device: kAuto in one
// kernel (Note [GPTQ on the device], gptq_cuda.cu) where it applies — a CUDA build,
// block_size <= 128 — else, and with kColumnByColumn always, the reference's loop of tensor
// operations (tests compare the two: the same codes).
enum class SolverPath { kAuto, kColumnByColumn };

// Quantizes `weight` [out, in] (any floating dtype; moved to the Hessian's device) with the
// Hessian `hessian` [in, in] (HessianAccumulator::hessian(); not modified), in float32 as
// the reference. Throws
// lmf::sdk::Error naming `layer` for mismatched shapes, NaN/Inf in the weight, or a Hessian
// that stays indefinite after every dampening retry.
GptqResult gptq_quantize(const torch::Tensor& weight, const torch::Tensor& hessian,
                         const GptqOptions& options, std::string_view layer,
                         SolverPath path = SolverPath::kAuto);

}  // namespace lmf::quant::gptq
