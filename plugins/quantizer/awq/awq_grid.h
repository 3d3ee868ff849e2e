// AutoAWQ's grid (AwqQuantizer.pseudo_quantize_tensor): one grid per output row and group of
// `group_size` consecutive input columns, fitted to the group's own min and max.
#pragma once

#include "awq_options.h"
#include "plugins/quantizer/common/quantized_codes.h"

#include <torch/torch.h>

#include <string_view>

namespace lmf::quant::awq {

// Note [AWQ grid]
// With a zero point (AutoAWQ's default, the only grid its GEMM layout stores), a group with
// minimum m and maximum M gets
//   scale = max(M − m, 1e-5) / 15,  z = clamp(−round(m / scale), 0, 15),
//   q = clamp(round(w / scale) + z, 0, 15),  ŵ = (q − z) · scale,
// rounding half to even (torch.round). Unlike GPTQ's grid the range is not widened to
// contain 0: a group of positive weights gets z = 0 and its weights above 15·scale clamp,
// as in AutoAWQ. Without a zero point: scale = max(max|w|, 1e-5) / 7 and q = clamp(round(w /
// scale), −8, 7). AutoAWQ runs this in the model's dtype (fp16) and the GEMM layout stores
// fp16 scales; GridRule says whether we round the scale to fp16 before choosing codes.
enum class GridRule {
  // The scale rounded to fp16 first, so that the codes are chosen for the scale a loader
  // reads (AutoAWQ, working in fp16, computes its scale in fp16 too). What the quantizer
  // stores; refuses a scale beyond fp16.
  kCheckpoint,
  // float32 throughout, as pseudo_quantize_tensor on float32 weights: what the searches use
  // and what tests compare with the reference.
  kReference,
};

struct AwqQuantized {
  torch::Tensor codes;   // [out, in] float32 holding integers: 0…15, or −8…7 without zero
  torch::Tensor scales;  // [out, groups] float32
  torch::Tensor zeros;   // [out, groups] float32 holding integers (0 without a zero point)
  torch::Tensor dequantized;  // [out, in] float32: (codes − zeros) · scales, group by group
};

// Quantizes `weight` [out, in] (any floating dtype and device; computed in float32 there).
// Throws lmf::sdk::Error naming `layer` for bad options, a group size that does not divide
// `in`, NaN/Inf in the weight, or (kCheckpoint) a scale that fp16 cannot hold.
AwqQuantized quantize_groups(const torch::Tensor& weight, const AwqOptions& options, GridRule rule,
                             std::string_view layer);

// The dequantized weight alone, on the reference grid, with no checks: the inner loop of the
// searches (their callers have checked the inputs once).
torch::Tensor pseudo_quantize(const torch::Tensor& weight, const AwqOptions& options);

// The codes in the layout-neutral form the GEMM packer takes (codes [out, in] u8, scales and
// zeros [groups, out], g_idx i / group). Needs a zero point: the GEMM layout has no symmetric
// form; throws lmf::sdk::Error naming `layer` otherwise.
QuantizedCodes to_quantized_codes(const AwqQuantized& quantized, const AwqOptions& options,
                                  std::string_view layer);

}  // namespace lmf::quant::awq
