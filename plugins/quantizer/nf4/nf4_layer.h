// An NF4 layer as the SDK hands it to the host: the tensors of Note [NF4 checkpoint
// layout], allocated by the host, plus the block absmax values the kernels multiply by
// (after double quantization), decoded once.
#pragma once

#include "plugins/quantizer/nf4/nf4_kernels.h"
#include "plugins/quantizer/nf4/nf4_layout.h"

#include <lmf/sdk/quantizer.h>

#include <memory>
#include <span>
#include <vector>

namespace lmf::quant::nf4 {

class Nf4Layer final : public lmf::sdk::QuantizedLayer {
 public:
  // Quantizes `w`, the row-major [out, in] weight of `format` (finite values; out * in a
  // multiple of the block size), as bitsandbytes' quantize_4bit does.
  static std::unique_ptr<Nf4Layer> quantize(std::span<const float> w, const Nf4Format& format);

  // Rebuilds a layer from a checkpoint's tensors (borrowed: copied) and its format_json.
  // Throws std::invalid_argument naming the tensor or field at fault.
  static std::unique_ptr<Nf4Layer> import(std::span<const lmf_named_tensor> tensors,
                                          const nlohmann::json& format_json);

  const Nf4Format& layout() const { return format_; }
  Nf4View view() const;

 private:
  explicit Nf4Layer(const Nf4Format& format);
  void decode_block_absmax();

  Nf4Format format_;
  std::vector<float> block_absmax_;
};

}  // namespace lmf::quant::nf4
