// An NF4 layer as the SDK hands it to the host: the tensors of Note [NF4 checkpoint
// layout], allocated by the host, plus the block absmax values the CPU kernels multiply by
// (after double quantization), decoded once. It also keeps a copy of its stored tensors on
// each CUDA device it was used on, until it is freed (Note [NF4 device layers]).
#pragma once

#include "plugins/quantizer/nf4/nf4_kernels.h"
#include "plugins/quantizer/nf4/nf4_kernels_cuda.h"
#include "plugins/quantizer/nf4/nf4_layout.h"

#include <lmf/sdk/quantizer.h>

#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace lmf::quant::nf4 {

class Nf4DeviceLayer;

class Nf4Layer final : public lmf::sdk::QuantizedLayer {
 public:
  // Quantizes `w`, the row-major [out, in] weight of `format` (finite values; out * in a
  // multiple of the block size), as bitsandbytes' quantize_4bit does.
  static std::unique_ptr<Nf4Layer> quantize(std::span<const float> w, const Nf4Format& format);

  // Rebuilds a layer from a checkpoint's tensors (borrowed: copied) and its format_json.
  // Throws std::invalid_argument naming the tensor or field at fault.
  static std::unique_ptr<Nf4Layer> import(std::span<const lmf_named_tensor> tensors,
                                          const nlohmann::json& format_json);

  ~Nf4Layer() override;

  const Nf4Format& layout() const { return format_; }
  Nf4View view() const;
  // The tensors as stored (host pointers): what a device copy holds.
  Nf4StoredView stored_view() const;

  // The copy on CUDA device `device`, made by the first call that asks (on `stream`, which
  // must not be capturing then); thread-safe. Only in builds with the CUDA kernels.
  const Nf4DeviceLayer& on_device(int device, void* stream) const;

 private:
  explicit Nf4Layer(const Nf4Format& format);
  void decode_block_absmax();

  Nf4Format format_;
  std::vector<float> block_absmax_;
  mutable std::mutex devices_mutex_;
  mutable std::map<int, std::unique_ptr<Nf4DeviceLayer>> devices_;
};

}  // namespace lmf::quant::nf4
