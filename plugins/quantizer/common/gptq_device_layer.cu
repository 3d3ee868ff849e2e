// GptqDeviceLayer and the per-stream workspaces its layers share (Note [GPTQ device layers]
// in gptq_device_layer.h). Host code only: the kernels are gptq_kernels_cuda.cu's.
#include "plugins/quantizer/common/gptq_device_layer.h"

#include "plugins/quantizer/common/cuda_runtime_support.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace lmf::quant {
namespace {

using cuda::capturing;
using cuda::check;
using cuda::device_name;
using cuda::DeviceScope;

size_t element_bytes(DeviceDtype dtype) {
  return dtype == DeviceDtype::f32 ? 4 : 2;
}

bool aligned16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

using cuda::upload;

void free_view(GptqView& view) {
  cudaFree(const_cast<int32_t*>(view.qweight));
  cudaFree(const_cast<int32_t*>(view.qzeros));
  cudaFree(const_cast<uint16_t*>(view.scales));
  cudaFree(const_cast<int32_t*>(view.g_idx));
  view.qweight = view.qzeros = view.g_idx = nullptr;
  view.scales = nullptr;
}

}  // namespace

// The split-K workspaces of one device, one a stream (Note [GPTQ device layers]).
class GptqDeviceWorkspaces {
 public:
  struct Buffer {
    float* floats = nullptr;
    int* counters = nullptr;
    int64_t float_count = 0, counter_count = 0;
  };

  // The device's workspaces, made when its first layer asks; freed with its last layer.
  static std::shared_ptr<GptqDeviceWorkspaces> of_device(int device) {
    // Leaked on purpose: layers may be freed from static destructors of other libraries.
    static auto* mutex = new std::mutex;
    static auto* devices = new std::map<int, std::weak_ptr<GptqDeviceWorkspaces>>;
    std::lock_guard<std::mutex> lock(*mutex);
    std::shared_ptr<GptqDeviceWorkspaces> found = (*devices)[device].lock();
    if (!found) {
      found = std::make_shared<GptqDeviceWorkspaces>(device);
      (*devices)[device] = found;
    }
    return found;
  }

  explicit GptqDeviceWorkspaces(int device) : device_(device) {}
  GptqDeviceWorkspaces(const GptqDeviceWorkspaces&) = delete;
  GptqDeviceWorkspaces& operator=(const GptqDeviceWorkspaces&) = delete;

  ~GptqDeviceWorkspaces() {
    int previous = 0;
    const bool restore = cudaGetDevice(&previous) == cudaSuccess;
    if (cudaSetDevice(device_) == cudaSuccess) {
      for (auto& entry : by_stream_) release(entry.second);
      for (Buffer& buffer : replaced_) release(buffer);
    }
    if (restore) cudaSetDevice(previous);
  }

  // A layer's plans need this much: later workspaces are made at least as large.
  void require(int64_t floats, int64_t counters) {
    std::lock_guard<std::mutex> lock(mutex_);
    floats_ = std::max(floats_, floats);
    counters_ = std::max(counters_, counters);
  }

  // A workspace of at least `floats` and `counters` for calls on `stream`, made (or
  // replaced by a larger one) outside graph capture. The device must be current.
  Buffer for_stream(void* stream, int64_t floats, int64_t counters) {
    if (floats == 0 && counters == 0) return {};
    const Key key{stream, stream == static_cast<void*>(cudaStreamPerThread)
                              ? std::this_thread::get_id()
                              : std::thread::id()};
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = by_stream_.find(key);
    if (found != by_stream_.end() && found->second.float_count >= floats &&
        found->second.counter_count >= counters)
      return found->second;
    if (capturing(stream))
      throw GptqCaptureError(
          "the stream has no split-K workspace on " + device_name(device_) +
          " for this layer yet, and it is being captured into a CUDA graph, where nothing may "
          "be allocated: call matmul on each layer once on this stream (with the same x dtype) "
          "before capturing (Note [GPTQ device layers])");
    Buffer buffer;
    buffer.float_count = std::max(floats_, floats);
    buffer.counter_count = std::max(counters_, counters);
    try {
      check(
          cudaMalloc(reinterpret_cast<void**>(&buffer.floats),
                     static_cast<size_t>(std::max<int64_t>(1, buffer.float_count)) * sizeof(float)),
          "allocating the split-K workspace on " + device_name(device_));
      check(
          cudaMalloc(reinterpret_cast<void**>(&buffer.counters),
                     static_cast<size_t>(std::max<int64_t>(1, buffer.counter_count)) * sizeof(int)),
          "allocating the split-K counters on " + device_name(device_));
      check(cudaMemsetAsync(
                buffer.counters, 0,
                static_cast<size_t>(std::max<int64_t>(1, buffer.counter_count)) * sizeof(int),
                static_cast<cudaStream_t>(stream)),
            "zeroing the split-K counters");
    } catch (...) {
      release(buffer);
      throw;
    }
    if (found != by_stream_.end()) {
      replaced_.push_back(found->second);  // a captured graph may still use it
      found->second = buffer;
    } else {
      by_stream_.emplace(key, buffer);
    }
    return buffer;
  }

 private:
  using Key = std::pair<void*, std::thread::id>;

  static void release(Buffer& buffer) {
    cudaFree(buffer.floats);
    cudaFree(buffer.counters);
    buffer = {};
  }

  int device_;
  std::mutex mutex_;
  int64_t floats_ = 0, counters_ = 0;  // the most any layer's plans need
  std::map<Key, Buffer> by_stream_;
  std::vector<Buffer> replaced_;
};

GptqDeviceLayer::GptqDeviceLayer(const GptqView& host, int device, void* stream) : device_(device) {
  int count = 0;
  check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  if (device < 0 || device >= count)
    throw std::invalid_argument(device_name(device) + " does not exist (" + std::to_string(count) +
                                " CUDA devices)");
  if (host.bits != 2 && host.bits != 3 && host.bits != 4 && host.bits != 8)
    throw std::invalid_argument("the layer's bits is " + std::to_string(host.bits) +
                                ", expected 2, 3, 4 or 8");
  DeviceScope scope(device);
  if (capturing(stream))
    throw GptqCaptureError(
        "the layer's first call on " + device_name(device) +
        " copies it there, which cannot happen while the stream is being captured into a CUDA "
        "graph: call it once before capturing (Note [GPTQ device layers])");
  view_ = host;
  view_.qweight = view_.qzeros = view_.g_idx = nullptr;
  view_.scales = nullptr;
  const int64_t out = host.out_features, in = host.in_features, groups = host.groups;
  try {
    view_.qweight = upload(host.qweight, in * host.bits / 32 * out, "qweight");
    view_.qzeros = upload(host.qzeros, groups * (out * host.bits / 32), "qzeros");
    view_.scales = upload(host.scales, groups * out, "scales");
    view_.g_idx = upload(host.g_idx, in, "g_idx");
    // cudaMemcpy from pageable memory may return before the copy lands, ordered on the
    // legacy stream only: wait, so that any stream may read the tensors.
    check(cudaDeviceSynchronize(), "copying the layer to " + device_name(device));
  } catch (...) {
    free_view(view_);
    throw;
  }
  workspaces_ = GptqDeviceWorkspaces::of_device(device);
}

GptqDeviceLayer::~GptqDeviceLayer() {
  int previous = 0;
  const bool restore = cudaGetDevice(&previous) == cudaSuccess;
  if (cudaSetDevice(device_) == cudaSuccess) free_view(view_);
  if (restore) cudaSetDevice(previous);
}

void GptqDeviceLayer::dequantize(DeviceDtype dtype, void* weight, void* stream) const {
  DeviceScope scope(device_);
  gptq_dequantize_cuda(view_, dtype, weight, stream);
}

const GptqDeviceLayer::Plans& GptqDeviceLayer::plans_for(DeviceDtype x_dtype) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::unique_ptr<const Plans>& slot = plans_[static_cast<int>(x_dtype)];
  if (!slot) {
    auto plans = std::make_unique<Plans>();
    for (int64_t tokens = 1; tokens <= kGptqMatvecMaxTokens; ++tokens) {
      GptqMatvecPlan& chosen = plans->chosen[tokens - 1];
      GptqMatvecPlan& unaligned = plans->unaligned_x[tokens - 1];
      chosen = gptq_matvec_plan(view_, x_dtype, tokens);
      unaligned = chosen.tensor_cores
                      ? gptq_matvec_plan(view_, x_dtype, tokens, MatvecKernel::kGeneric)
                      : chosen;
      for (const GptqMatvecPlan* plan : {&chosen, &unaligned}) {
        plans->workspace_floats = std::max(plans->workspace_floats, plan->workspace_floats);
        plans->counters = std::max(plans->counters, plan->counters);
      }
    }
    workspaces_->require(plans->workspace_floats, plans->counters);
    slot = std::move(plans);
  }
  return *slot;
}

void GptqDeviceLayer::matmul(DeviceDtype x_dtype, const void* x, int64_t tokens,
                             DeviceDtype y_dtype, void* y, void* stream) {
  if (tokens < 0) throw std::invalid_argument(std::to_string(tokens) + " tokens");
  if (tokens == 0) return;
  if (x == nullptr || y == nullptr)
    throw std::invalid_argument("x and y must be device pointers, got null");
  DeviceScope scope(device_);
  const Plans& plans = plans_for(x_dtype);
  const GptqDeviceWorkspaces::Buffer workspace =
      workspaces_->for_stream(stream, plans.workspace_floats, plans.counters);
  const auto* x_bytes = static_cast<const char*>(x);
  auto* y_bytes = static_cast<char*>(y);
  for (int64_t first = 0; first < tokens; first += kGptqMatvecMaxTokens) {
    const int64_t count = std::min<int64_t>(kGptqMatvecMaxTokens, tokens - first);
    GptqMatvecArgs args;
    args.x = x_bytes + first * view_.in_features * static_cast<int64_t>(element_bytes(x_dtype));
    args.y = y_bytes + first * view_.out_features * static_cast<int64_t>(element_bytes(y_dtype));
    args.y_dtype = y_dtype;
    args.workspace = workspace.floats;
    args.counters = workspace.counters;
    // The layer's device tensors are written once, synchronously, when this copy is made:
    // no kernel before a call writes them, so its weight loads may overlap that kernel.
    args.overlap_previous = true;
    const GptqMatvecPlan& chosen = plans.chosen[count - 1];
    const GptqMatvecPlan& plan =
        chosen.tensor_cores && !aligned16(args.x) ? plans.unaligned_x[count - 1] : chosen;
    gptq_matvec_cuda(view_, plan, args, stream);
  }
}

}  // namespace lmf::quant
