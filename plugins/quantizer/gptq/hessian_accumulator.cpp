#include "hessian_accumulator.h"

#include "device_stream.h"
#include "gptq_cuda.h"

#include <lmf/sdk/error.h>

#include <cmath>

namespace lmf::quant::gptq {

using lmf::sdk::fail;

void expect_finite(const torch::Tensor& values, const std::string& what) {
  const torch::Tensor bad = torch::isfinite(values).logical_not();
  if (!bad.any().item<bool>()) return;
  const torch::Tensor first = bad.nonzero()[0].cpu();
  const int64_t row = first[0].item<int64_t>(), col = first[1].item<int64_t>();
  const float value = values[row][col].item<float>();
  fail(LMF_ERR_DATA, what + " holds " + (std::isnan(value) ? "NaN" : "Inf") + " at [" +
                         std::to_string(row) + ", " + std::to_string(col) + "]");
}

void HessianAccumulator::add(const torch::Tensor& inputs) {
  const std::string what = "calibration inputs of layer \"" + layer_ + "\"";
  if (inputs.dim() != 2)
    fail(LMF_ERR_INVALID_ARGUMENT, what + ": expected [tokens, in_features], got " +
                                       std::to_string(inputs.dim()) + " dimensions");
  if (!inputs.is_floating_point())
    fail(LMF_ERR_INVALID_ARGUMENT, what + ": expected a floating-point tensor");
  if (hessian_.defined() && inputs.size(1) != hessian_.size(0))
    fail(LMF_ERR_INVALID_ARGUMENT, what + ": in_features changed from " +
                                       std::to_string(hessian_.size(0)) + " to " +
                                       std::to_string(inputs.size(1)));
  const int64_t tokens = inputs.size(0);
  if (tokens == 0) return;
  torch::Tensor x =
      inputs.to(hessian_.defined() ? hessian_.device() : inputs.device(), torch::kFloat32);
  expect_finite(x, what);

  // Everything that allocates (and so may fail) before the statistics change: a failed
  // call leaves the layer's Hessian and row count as they were.
  const int64_t rows = rows_ + tokens;
  const double kept = static_cast<double>(rows_) / static_cast<double>(rows);
  const double added = 2.0 / static_cast<double>(rows);
  if (x.is_cuda() && gptq_cuda_compiled()) {
    // Note [GPTQ on the device]: bf16 values (a bf16 model's activations, lent as float32)
    // take the tensor cores, their products exact in float32. (Checked by converting: one
    // pass, against the GEMM's tokens × features² work.)
    const torch::Tensor bf16 = x.to(torch::kBFloat16).contiguous();
    if (torch::equal(bf16.to(torch::kFloat32), x)) {
      if (!hessian_.defined()) hessian_ = torch::zeros({x.size(1), x.size(1)}, x.options());
      try {
        run_on_stream(x.device(), [&](void* stream) {
          accumulate_gram_bf16_cuda(bf16.data_ptr(), tokens, x.size(1), static_cast<float>(added),
                                    static_cast<float>(kept), hessian_.data_ptr<float>(), stream);
        });
      } catch (const std::runtime_error& e) {  // a CUDA failure, named by the layer
        fail(LMF_ERR_INTERNAL, what + " on " + x.device().str() + ": " + e.what());
      }
      rows_ = rows;
      tensor_core_rows_ += tokens;
      return;
    }
  }
  x = x * std::sqrt(added);
  torch::Tensor update = x.t().mm(x);
  if (!hessian_.defined()) hessian_ = torch::zeros({x.size(1), x.size(1)}, x.options());
  hessian_.mul_(kept).add_(update);
  rows_ = rows;
}

}  // namespace lmf::quant::gptq
