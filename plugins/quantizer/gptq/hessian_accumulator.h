// The Hessian GPTQ needs for one linear layer, H = 2/n · Σ x xᵀ over the n input rows
// the layer saw on calibration data, accumulated call by call.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace lmf::quant::gptq {

// Note [Hessian scale]
// AutoGPTQ's add_batch keeps H a running average: before adding a batch of m samples it
// scales H by n/(n+m), then adds (√(2/(n+m))·X)ᵀ(√(2/(n+m))·X), in float32. We do the same
// with n counting input rows (tokens). AutoGPTQ counts the batch dimension of the hidden
// states (sequences), which scales H and the reported loss by a constant; the quantized
// weights do not depend on H's scale (dampening is relative to mean(diag H)).
class HessianAccumulator {
 public:
  // `layer` names the layer in error messages.
  explicit HessianAccumulator(std::string layer) : layer_(std::move(layer)) {}

  // Adds `inputs` [tokens, in_features] (any floating dtype, any device; H lives on the
  // device of the first call's inputs, in float32). Throws lmf::sdk::Error naming the layer
  // for a wrong rank, a changed in_features, or a NaN/Inf (with its row and column).
  void add(const torch::Tensor& inputs);

  bool empty() const { return rows_ == 0; }
  int64_t rows() const { return rows_; }  // tokens seen so far
  int64_t in_features() const { return hessian_.defined() ? hessian_.size(0) : 0; }
  const torch::Tensor& hessian() const { return hessian_; }  // [in, in] float32
  // Rows whose products went through the tensor cores (Note [GPTQ on the device]).
  int64_t tensor_core_rows() const { return tensor_core_rows_; }

 private:
  std::string layer_;
  torch::Tensor hessian_;
  int64_t rows_ = 0;
  int64_t tensor_core_rows_ = 0;
};

// Throws lmf::sdk::Error (LMF_ERR_DATA) naming `what` and the first [row, column] holding
// NaN or Inf in the 2-D tensor `values`.
void expect_finite(const torch::Tensor& values, const std::string& what);

}  // namespace lmf::quant::gptq
