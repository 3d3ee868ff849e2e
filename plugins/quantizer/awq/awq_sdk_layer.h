// AWQ layers as the awq plugin hands them to the host through the SDK: AutoAWQ's GEMM
// layout (Note [AWQ GEMM layout]) made from QuantizedCodes or imported from a checkpoint's
// tensors, and the CPU kernels that dequantize it and multiply by it. No libtorch here.
#pragma once

#include "awq_gemm_layout.h"

#include "plugins/quantizer/common/quantized_codes.h"

#include <lmf/sdk/quantizer.h>

#include <memory>
#include <span>

namespace lmf::quant::awq {

// The layer: host-allocated tensors "qweight" int32 [in, out/8], "qzeros" int32 [G, out/8]
// and "scales" float16 [G, out], and format_json
//   {"format":"awq","version":"gemm","bits":4,"group_size":…,"sym":false,"zero_point":true}
// plus the maker's fields. It also keeps the codes unpacked, for the kernels.
class AwqLayer final : public sdk::QuantizedLayer {
 public:
  AwqLayer(const AwqGemmTensors& packed, sdk::Json format);
  const QuantizedCodes& codes() const { return codes_; }

 private:
  QuantizedCodes codes_;  // unpack_awq_gemm of the stored tensors: what a loader reads
};

// The format_json fields of a layer of `group_size` (−1: one group per row).
sdk::Json awq_format(int64_t group_size);

// Packs `codes` into a new layer; `extra` adds fields to format_json (e.g. "method").
std::unique_ptr<AwqLayer> make_awq_layer(const QuantizedCodes& codes, const sdk::Json& extra,
                                         std::string_view layer);

// Rebuilds a layer from a checkpoint's tensors (borrowed, copied) and its format_json,
// which needs "format": "awq" and "group_size", and may say "bits" (4), "zero_point" (true)
// and "version" ("gemm", any case). Takes exactly "qweight", "qzeros" and "scales"; refuses
// anything else naming the tensor or field, what was expected and what was given.
std::unique_ptr<AwqLayer> import_awq_layer(std::span<const lmf_named_tensor> tensors,
                                           const sdk::Json& format);

// Note [AWQ CPU kernels]
// Plain loops over the unpacked codes, not yet the packed-word kernels GPTQ has
// (gptq_kernels.h): dequantize writes w = scale · (code − zero) in float32, which is exact
// (an fp16 scale times an integer of at most 4 bits fits float32's mantissa), so it equals
// what AutoAWQ's and vLLM's dequantization computes before their fp16 rounding. matmul
// dequantizes the layer into a buffer once per call and takes float dot products, one per
// token and output. CPU float32 tensors; a failed call writes nothing.
void dequantize_awq_layer(const sdk::QuantizedLayer& layer, DLTensor& weight);
void matmul_awq_layer(const sdk::QuantizedLayer& layer, const DLTensor& x, DLTensor& y);

}  // namespace lmf::quant::awq
