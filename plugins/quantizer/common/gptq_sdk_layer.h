// GPTQ-format layers as a quantizer plugin hands them to the host through the SDK: made
// from QuantizedCodes, imported from a checkpoint's tensors, dequantized and multiplied by.
// Every quantizer whose layers use the GPTQ layout (rtn, gptq) shares this.
#pragma once

#include "plugins/quantizer/common/gptq_kernels.h"
#include "plugins/quantizer/common/gptq_layout.h"
#include "plugins/quantizer/common/quantized_codes.h"

#include <lmf/sdk/quantizer.h>

#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>

namespace lmf::quant {

class GptqDeviceLayer;

// The layer: host-allocated tensors "qweight" int32, "qzeros" int32, "scales" float16 and
// "g_idx" int32 (Note [GPTQ checkpoint layout]), and format_json
//   {"format":"gptq","bits":…,"group_size":…,"sym":…,"desc_act":…} plus the maker's fields.
// It also keeps a copy of its tensors on each CUDA device it was used on, until it is freed
// (Note [GPTQ device layers] in gptq_device_layer.h).
class GptqLayer final : public sdk::QuantizedLayer {
 public:
  GptqLayer(const GptqTensors& packed, sdk::Json format);
  ~GptqLayer() override;
  const GptqView& view() const { return view_; }

  // The copy on CUDA device `device`, made by the first call that asks (on `stream`, which
  // must not be capturing then); thread-safe. Only in builds with the CUDA kernels.
  GptqDeviceLayer& on_device(int device, void* stream) const;

 private:
  GptqView view_;
  mutable std::mutex devices_mutex_;
  mutable std::map<int, std::unique_ptr<GptqDeviceLayer>> devices_;
};

// Packs `codes` into a new layer; `extra` adds fields to format_json (e.g. "method").
std::unique_ptr<GptqLayer> make_gptq_layer(const QuantizedCodes& codes, const sdk::Json& extra);

// Rebuilds a layer from a checkpoint's tensors (borrowed, copied) and its format_json.
// Takes "qweight", "qzeros", "scales" and "g_idx" ("g_idx" may be left out when desc_act is
// false); refuses anything else with a message naming the tensor or field and what was
// expected. The layer keeps `format` as its format_json.
std::unique_ptr<GptqLayer> import_gptq_layer(std::span<const lmf_named_tensor> tensors,
                                             const sdk::Json& format);

// The ops of lmf_quantizer_vtable on such a layer. On the CPU: float32 tensors (unchanged
// since the CPU kernels came). On CUDA (kDLCUDA, builds with the CUDA kernels): weight, x
// and y float32, float16 or bfloat16, x and y of one dtype and on one device, the work
// ordered on `stream` (a cudaStream_t, null: the legacy default stream); matmul takes any
// number of tokens, 8 at a time (kGptqMatvecMaxTokens: beyond that, dequantize + a dense
// matmul is faster). Concurrent calls on any layers and streams are safe, and after one
// call of a layer with a dtype on a stream, its calls there may be captured in a CUDA graph
// (Note [GPTQ device layers]). A CUDA tensor in a build without the kernels is
// LMF_ERR_UNSUPPORTED. A refused call writes nothing.
void dequantize_gptq_layer(const sdk::QuantizedLayer& layer, DLTensor& weight,
                           void* stream = nullptr);
void matmul_gptq_layer(const sdk::QuantizedLayer& layer, const DLTensor& x, DLTensor& y,
                       void* stream = nullptr);

// The capabilities' fields a quantizer with these layers claims for dequantize and matmul:
// "devices" is ["cpu"], plus "cuda" where the CUDA kernels are built; "matmul_tokens" is 8,
// the token count up to which matmul is the fast path (docs/plugin-abi.md).
sdk::Json gptq_layer_devices();
int64_t gptq_layer_matmul_tokens();

}  // namespace lmf::quant
