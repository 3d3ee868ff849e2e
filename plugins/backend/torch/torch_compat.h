// What differs between the libtorch versions lmforge builds against: Debian's 1.13 (CPU,
// the developer and CI machines) and 2.x with CUDA (the GPU machine). Every version test
// lives here (ARCHITECTURE.md: one small compatibility header, no scattered #ifs).
#pragma once

#include <torch/torch.h>
#include <torch/version.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <optional>

#if LMF_TORCH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#ifndef LMF_TORCH_CUDA
#define LMF_TORCH_CUDA 0  // set by CMake when libtorch has CUDA (torch_cuda target)
#endif

#define LMF_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||      \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace lmf::torch_backend::compat {

// Whether libtorch has at::scaled_dot_product_attention (2.0) with grouped-query support
// (enable_gqa, 2.5).
constexpr bool kHasFusedAttention = LMF_TORCH_AT_LEAST(2, 5);

// softmax(q kᵀ · scale + mask) v with q [B,H,Tq,D], k and v [B,KV,Tk,D] (H a multiple of
// KV), `mask` boolean [B,1,Tq,Tk] (true: may attend; on the fused path also the additive
// mask of fused_attention_mask) or undefined: then with `causal`
// query i sees keys 0..i (Tq = Tk; the flash kernel's own causal masking, which no mask
// tensor allows), else every key. The eager path follows transformers' eager attention:
// scores and softmax in fp32, then back to q's dtype.
inline torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& mask, double scale,
                               bool allow_fused, bool causal = false) {
#if LMF_TORCH_AT_LEAST(2, 5)
  if (allow_fused) {
    std::optional<at::Tensor> attn_mask;
    if (mask.defined()) attn_mask = mask;
    return at::scaled_dot_product_attention(q, k, v, attn_mask, 0.0, causal && !mask.defined(), scale,
                                            /*enable_gqa=*/q.size(1) != k.size(1));
  }
#else
  (void)allow_fused;
#endif
  if (causal && !mask.defined()) {
    const int64_t steps = q.size(2);
    torch::Tensor lower = torch::ones({steps, steps}, q.options().dtype(torch::kBool)).tril();
    return attention(q, k, v, lower.view({1, 1, steps, steps}), scale, false);
  }
  const int64_t groups = q.size(1) / k.size(1);
  torch::Tensor keys = groups == 1 ? k : k.repeat_interleave(groups, 1);
  torch::Tensor values = groups == 1 ? v : v.repeat_interleave(groups, 1);
  torch::Tensor scores = torch::matmul(q, keys.transpose(-2, -1)) * scale;
  if (mask.defined())
    scores = scores.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
  torch::Tensor probs = torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type());
  return torch::matmul(probs, values);
}

// `mask` (boolean, as attention() takes it) as the fused kernels take it: an additive
// mask, 0 where attending and -inf elsewhere, in `dtype`. SDPA converts a boolean mask so
// on every call — three kernels per layer of a decode step; converted once per forward
// pass instead, the same values. Unchanged where attention() would not take the fused path.
inline torch::Tensor fused_attention_mask(const torch::Tensor& mask, torch::ScalarType dtype, bool allow_fused) {
#if LMF_TORCH_AT_LEAST(2, 5)
  if (allow_fused && mask.defined() && mask.scalar_type() == torch::kBool)
    return torch::zeros(mask.sizes(), mask.options().dtype(dtype))
        .masked_fill_(mask.logical_not(), -std::numeric_limits<float>::infinity());
#else
  (void)dtype, (void)allow_fused;
#endif
  return mask;
}

// A step recorded once as a CUDA graph and replayed, so that a decode step of a few
// hundred small kernels costs one launch. Only in CUDA builds; `available()` is false
// elsewhere and `capture` then refuses.
class StepGraph {
 public:
  static constexpr bool available() { return LMF_TORCH_CUDA != 0; }

#if LMF_TORCH_CUDA
  // Runs `step` once for real on a side stream (the warm-up CUDA graphs need: lazy
  // initialisation of cuBLAS and the allocator happens outside the capture), then records
  // it. The real run counts: the caller treats it as the first step.
  void warm_up_and_capture(const std::function<void()>& step) {
    at::cuda::CUDAStream side = at::cuda::getStreamFromPool();
    wait(side, at::cuda::getCurrentCUDAStream());
    {
      c10::cuda::CUDAStreamGuard guard(side);
      step();
    }
    wait(at::cuda::getCurrentCUDAStream(), side);
    graph_ = std::make_unique<at::cuda::CUDAGraph>();
    {
      c10::cuda::CUDAStreamGuard guard(side);
      graph_->capture_begin();
      step();
      graph_->capture_end();
    }
    wait(at::cuda::getCurrentCUDAStream(), side);
  }
  void replay() { graph_->replay(); }

 private:
  // Work later queued on `waiter` starts after what is queued on `on` now.
  static void wait(const at::cuda::CUDAStream& waiter, const at::cuda::CUDAStream& on) {
    at::cuda::CUDAEvent event;
    event.record(on);
    event.block(waiter);
  }

  std::unique_ptr<at::cuda::CUDAGraph> graph_;
#else
  void warm_up_and_capture(const std::function<void()>&) {
    throw std::logic_error("CUDA graphs need a CUDA build of libtorch");
  }
  void replay() {}
#endif
};

// The GPU's name ("NVIDIA H100 80GB HBM3"), or "" for the CPU.
inline std::string device_name(const torch::Device& device) {
#if LMF_TORCH_CUDA
  if (device.is_cuda()) return at::cuda::getDeviceProperties(device.index() < 0 ? 0 : device.index())->name;
#endif
  (void)device;
  return "";
}

// The most memory the caching allocator held for tensors since the last reset, in bytes;
// 0 for the CPU (the trainer reads the process's peak resident size there).
inline int64_t peak_allocated_bytes(const torch::Device& device) {
#if LMF_TORCH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index());
    return stats.allocated_bytes[0].peak;  // [0]: StatType::AGGREGATE, whose namespace moved in 2.x
  }
#endif
  (void)device;
  return 0;
}

// The GPU's PCI bus id as NVML names it ("00000000:3B:00.0"), or "" for the CPU: NVML
// numbers GPUs by itself, CUDA_VISIBLE_DEVICES renumbers them for CUDA, the bus id is the same.
inline std::string pci_bus_id(const torch::Device& device) {
#if LMF_TORCH_CUDA
  if (device.is_cuda()) {
    const auto* properties = at::cuda::getDeviceProperties(device.index() < 0 ? 0 : device.index());
    char id[32];
    std::snprintf(id, sizeof id, "%08X:%02X:%02X.0", properties->pciDomainID, properties->pciBusID,
                  properties->pciDeviceID);
    return id;
  }
#endif
  (void)device;
  return "";
}

inline void synchronize(const torch::Device& device) {
#if LMF_TORCH_CUDA
  if (device.is_cuda()) c10::cuda::device_synchronize();
#endif
  (void)device;
}

// Makes `device` the current CUDA device for a scope, so that kernels launched by hand on
// its current stream run there (libtorch's own operations guard themselves); nothing in
// builds without CUDA or for CPU tensors.
#if LMF_TORCH_CUDA
using DeviceScope = c10::cuda::OptionalCUDAGuard;
#else
struct DeviceScope {
  explicit DeviceScope(const torch::Device&) {}
};
#endif

// The current CUDA stream of `device` as a cudaStream_t (what kernels launch on, also
// while a CUDA graph is being captured); null in builds without CUDA.
inline void* cuda_stream(const torch::Device& device) {
#if LMF_TORCH_CUDA
  return at::cuda::getCurrentCUDAStream(device.index()).stream();
#else
  (void)device;
  return nullptr;
#endif
}

}  // namespace lmf::torch_backend::compat
