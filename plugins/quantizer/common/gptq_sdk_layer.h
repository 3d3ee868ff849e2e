// GPTQ-format layers as a quantizer plugin hands them to the host through the SDK: made
// from QuantizedCodes, imported from a checkpoint's tensors, dequantized and multiplied by.
// Every quantizer whose layers use the GPTQ layout (rtn, gptq) shares this.
#pragma once

#include "plugins/quantizer/common/gptq_kernels.h"
#include "plugins/quantizer/common/gptq_layout.h"
#include "plugins/quantizer/common/quantized_codes.h"

#include <lmf/sdk/quantizer.h>

#include <memory>
#include <span>
#include <string>

namespace lmf::quant {

// The layer: host-allocated tensors "qweight" int32, "qzeros" int32, "scales" float16 and
// "g_idx" int32 (Note [GPTQ checkpoint layout]), and format_json
//   {"format":"gptq","bits":…,"group_size":…,"sym":…,"desc_act":…} plus the maker's fields.
class GptqLayer final : public sdk::QuantizedLayer {
 public:
  GptqLayer(const GptqTensors& packed, sdk::Json format);
  const GptqView& view() const { return view_; }

 private:
  GptqView view_;
};

// Packs `codes` into a new layer; `extra` adds fields to format_json (e.g. "method").
std::unique_ptr<GptqLayer> make_gptq_layer(const QuantizedCodes& codes, const sdk::Json& extra);

// Rebuilds a layer from a checkpoint's tensors (borrowed, copied) and its format_json.
// Takes "qweight", "qzeros", "scales" and "g_idx" ("g_idx" may be left out when desc_act is
// false); refuses anything else with a message naming the tensor or field and what was
// expected. The layer keeps `format` as its format_json.
std::unique_ptr<GptqLayer> import_gptq_layer(std::span<const lmf_named_tensor> tensors,
                                             const sdk::Json& format);

// The ops of lmf_quantizer_vtable on such a layer; CPU float32 tensors. A failed call
// writes nothing.
void dequantize_gptq_layer(const sdk::QuantizedLayer& layer, DLTensor& weight);
void matmul_gptq_layer(const sdk::QuantizedLayer& layer, const DLTensor& x, DLTensor& y);

}  // namespace lmf::quant
