#include "quantize/packed_linear.h"

#include <lmf/sdk/error.h>

namespace lmf::torch_backend {

PackedLinear::PackedLinear(std::shared_ptr<const QuantizerClient> quantizer, QuantizedLayer layer,
                           int64_t matmul_tokens, torch::Device device, torch::ScalarType dtype)
    : quantizer_(std::move(quantizer)), layer_(std::move(layer)), matmul_tokens_(matmul_tokens) {
  const lmf_quantized_layer& raw = layer_.raw();
  for (size_t i = 0; i < raw.tensor_count; ++i) {
    const DLTensor& t = raw.tensors[i].tensor->dl_tensor;
    size_t elements = 1;
    for (int32_t d = 0; d < t.ndim; ++d) elements *= static_cast<size_t>(t.shape[d]);
    bytes_ += elements * ((t.dtype.bits * t.dtype.lanes + 7) / 8);
  }
  if (device.is_cuda()) {
    torch::NoGradGuard no_grad;
    (void)matmul(torch::zeros({1, in_features()}, torch::TensorOptions().device(device).dtype(dtype)));
  }
}

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Note [Gradient through packed weights]
// A packed module is frozen: only its input takes a gradient, dL/dx = dL/dy · W. The
// forward saves nothing but the module (no activation, no dense weight); the backward
// dequantizes W into scratch once more. This is what QLoRA trains through: LoRA's adapters
// beside a frozen quantized base.
struct PackedMatmulFunction : torch::autograd::Function<PackedMatmulFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& rows, const PackedLinear* linear) {
    ctx->saved_data["linear"] = reinterpret_cast<int64_t>(linear);
    return linear->multiply_rows(rows);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto* linear = reinterpret_cast<const PackedLinear*>(ctx->saved_data["linear"].toInt());
    const torch::Tensor dy = grads[0].contiguous();
    return {torch::matmul(dy, linear->dense(dy.options())), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor PackedLinear::dense(const torch::TensorOptions& options) const {
  torch::Tensor weight = torch::empty({out_features(), in_features()}, options);
  quantizer_->dequantize_into(layer_, weight);
  return weight;
}

torch::Tensor PackedLinear::multiply_rows(const torch::Tensor& rows) const {
  if (rows.size(0) <= matmul_tokens_) {
    torch::Tensor y = torch::empty({rows.size(0), out_features()}, rows.options());
    quantizer_->matmul(layer_, rows, y);
    return y;
  }
  // A prompt: the dense matmul's work dwarfs dequantizing one module into scratch memory.
  return torch::linear(rows, dense(rows.options()));
}

torch::Tensor PackedLinear::matmul(const torch::Tensor& x) const {
  const int64_t in = in_features();
  if (x.size(-1) != in)
    sdk::fail(LMF_ERR_INVALID_ARGUMENT, "packed linear: input has " + std::to_string(x.size(-1)) +
                                            " features, the layer " + std::to_string(in));
  const torch::Tensor rows = x.reshape({-1, in}).contiguous();
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = out_features();
  if (torch::GradMode::is_enabled() && x.requires_grad())
    return PackedMatmulFunction::apply(rows, this).view(shape);
  return multiply_rows(rows).view(shape);
}

}  // namespace lmf::torch_backend
