// The int4 matrix-vector product of the GPTQ layout on the Llama-8B shapes (issue 7, docs/
// benchmarks.md): gptq_matvec_cuda (4 bits, group 128, bf16 x) against dequantize-then-cuBLAS
// (the same layer dequantized to bf16 by gptq_dequantize_cuda, then cublasGemmEx) and a bf16
// cuBLAS GEMV of a layer of the same shape, in one run. Prints markdown tables: µs per call,
// GB/s of the bytes a call must move, and that as a fraction of the measured device copy
// bandwidth; then the kernel's time against its split count and its token count. The kernel
// is timed with overlapped launches (GptqMatvecArgs::overlap_previous: each call may start
// while the one before ends, as in a decoder whose weights are fixed) and without.
//   build/cuda/bin/lmf_int4_matvec_bench          (on the GPU machine)
// Timing: a method's calls are captured in a CUDA graph (kCalls calls, cycling over copies of
// the weights that together exceed 4× the L2 cache, so that every call reads device memory),
// replayed once to warm up, then kRepeats times between CUDA events; the median replay over
// kCalls is the time per call. Graph replay leaves the host's launch cost out, as a decoder
// that replays a captured step does; the gaps between kernels stay in.
#include "plugins/quantizer/common/fp16.h"
#include "plugins/quantizer/common/gptq_kernels_cuda.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

using lmf::quant::DeviceDtype;
using lmf::quant::GptqMatvecArgs;
using lmf::quant::GptqMatvecPlan;
using lmf::quant::GptqView;
using lmf::quant::MatvecKernel;

constexpr int kCalls = 100;
constexpr int kRepeats = 7;
constexpr int64_t kGroupSize = 128;
constexpr int64_t kMaxTokens = lmf::quant::kGptqMatvecMaxTokens;

void check(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(status));
  std::exit(1);
}

void check(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  std::fprintf(stderr, "%s: cuBLAS status %d\n", what, static_cast<int>(status));
  std::exit(1);
}

// Device memory, freed with its owner.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) : bytes_(bytes) {
    check(cudaMalloc(&data_, bytes), "cudaMalloc");
  }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <typename T = void>
  T* get() const {
    return static_cast<T*>(data_);
  }
  size_t bytes() const { return bytes_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};
using Buffer = std::unique_ptr<DeviceBuffer>;

// splitmix64 bytes: random codes, zeros and signs for every buffer (never zeros: they can
// run faster than real data).
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  float uniform(float lo, float hi) {
    return lo + (hi - lo) * static_cast<float>(next() >> 40) / 16777216.f;
  }

 private:
  uint64_t state_;
};

Buffer upload(const void* host, size_t bytes) {
  Buffer buffer = std::make_unique<DeviceBuffer>(bytes);
  check(cudaMemcpy(buffer->get(), host, bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
  return buffer;
}

// `count` device copies of the same bytes (copies beyond the first made on the device).
std::vector<Buffer> device_copies(const void* host, size_t bytes, int count) {
  std::vector<Buffer> out;
  out.push_back(upload(host, bytes));
  for (int i = 1; i < count; ++i) {
    out.push_back(std::make_unique<DeviceBuffer>(bytes));
    check(cudaMemcpy(out.back()->get(), out.front()->get(), bytes, cudaMemcpyDeviceToDevice),
          "cudaMemcpy");
  }
  return out;
}

std::vector<uint8_t> random_bytes(size_t bytes, Random& random) {
  std::vector<uint8_t> out(bytes);
  for (size_t i = 0; i < bytes; i += 8) {
    const uint64_t v = random.next();
    std::memcpy(out.data() + i, &v, std::min<size_t>(8, bytes - i));
  }
  return out;
}

// Copies of a working set of `bytes` that together exceed 4× the L2 cache.
int copies_for(size_t bytes, int l2_bytes) {
  const size_t wanted = (4 * static_cast<size_t>(l2_bytes) + bytes - 1) / bytes;
  return static_cast<int>(std::clamp<size_t>(wanted, 2, 64));
}

// A 4-bit layer with groups of 128 in order, its tensors in `copies` places.
struct Int4Layer {
  int64_t out = 0, in = 0, groups = 0;
  std::vector<Buffer> qweight, qzeros, scales;

  Int4Layer(int64_t out_features, int64_t in_features, int l2_bytes, Random& random)
      : out(out_features), in(in_features), groups(in_features / kGroupSize) {
    std::vector<uint16_t> host_scales(static_cast<size_t>(groups * out));
    for (uint16_t& s : host_scales) s = lmf::quant::float_to_half(random.uniform(0.001f, 0.01f));
    const int n = copies_for(bytes(), l2_bytes);
    qweight = device_copies(random_bytes(static_cast<size_t>(in / 8 * out * 4), random).data(),
                            static_cast<size_t>(in / 8 * out * 4), n);
    qzeros = device_copies(random_bytes(static_cast<size_t>(groups * out / 8 * 4), random).data(),
                           static_cast<size_t>(groups * out / 8 * 4), n);
    scales = device_copies(host_scales.data(), host_scales.size() * 2, n);
  }
  // qweight + qzeros + scales
  size_t bytes() const {
    return static_cast<size_t>(in * out / 2 + groups * out / 2 + groups * out * 2);
  }
  int copies() const { return static_cast<int>(qweight.size()); }
  GptqView view(int copy) const {
    GptqView v;
    v.bits = 4;
    v.out_features = out;
    v.in_features = in;
    v.groups = groups;
    v.qweight = qweight[static_cast<size_t>(copy)]->get<int32_t>();
    v.qzeros = qzeros[static_cast<size_t>(copy)]->get<int32_t>();
    v.scales = scales[static_cast<size_t>(copy)]->get<uint16_t>();
    v.sequential_group_size = kGroupSize;
    return v;
  }
};

// Random bf16 or fp16 values in [-0.05, 0.05) (the top 16 bits of floats: bf16; or fp16).
std::vector<uint16_t> random_16bit(size_t count, DeviceDtype dtype, Random& random) {
  std::vector<uint16_t> out(count);
  for (uint16_t& v : out) {
    const float f = random.uniform(-0.05f, 0.05f);
    if (dtype == DeviceDtype::f16) {
      v = lmf::quant::float_to_half(f);
    } else {
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      v = static_cast<uint16_t>(bits >> 16);
    }
  }
  return out;
}

// µs per call: the median over kRepeats replays of a graph of kCalls calls, call(i) making
// the i-th call on `stream`.
double time_per_call(cudaStream_t stream, const std::function<void(int)>& call) {
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), "cudaStreamBeginCapture");
  for (int i = 0; i < kCalls; ++i) call(i);
  check(cudaStreamEndCapture(stream, &graph), "cudaStreamEndCapture");
  check(cudaGraphInstantiate(&exec, graph, 0), "cudaGraphInstantiate");
  check(cudaGraphLaunch(exec, stream), "cudaGraphLaunch");
  check(cudaStreamSynchronize(stream), "warm-up");
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  std::vector<double> times;
  for (int r = 0; r < kRepeats; ++r) {
    check(cudaEventRecord(start, stream), "cudaEventRecord");
    check(cudaGraphLaunch(exec, stream), "cudaGraphLaunch");
    check(cudaEventRecord(stop, stream), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0.f;
    check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    times.push_back(1000.0 * ms / kCalls);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Device-to-device copy bandwidth, counting bytes read and written, of a 1 GiB copy.
double copy_bandwidth(cudaStream_t stream) {
  const size_t bytes = size_t{1} << 30;
  DeviceBuffer a(bytes), b(bytes);
  check(cudaMemset(a.get(), 1, bytes), "cudaMemset");
  const double us = time_per_call(stream, [&](int) {
    check(cudaMemcpyAsync(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice, stream),
          "cudaMemcpyAsync");
  });
  return 2.0 * static_cast<double>(bytes) / (us * 1e-6);
}

struct Shape {
  const char* name;
  int64_t out, in;
};
// Llama-3.1-8B / DeepSeek-R1-Distill-Llama-8B, one decoder layer: q/k/v fused, o, gate/up
// fused, down.
constexpr Shape kShapes[] = {
    {"qkv", 6144, 4096}, {"o", 4096, 4096}, {"gate_up", 28672, 4096}, {"down", 4096, 14336}};
constexpr int kLayers = 32;

// cublasGemmEx for y [tokens, out] = x [tokens, in] · W [out, in]ᵀ (row-major), as
// torch.nn.functional.linear calls it.
void gemm(cublasHandle_t handle, const void* w, cudaDataType w_type, const void* x, void* y,
          cudaDataType y_type, int64_t out, int64_t in, int64_t tokens) {
  const float alpha = 1.f, beta = 0.f;
  check(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(out),
                     static_cast<int>(tokens), static_cast<int>(in), &alpha, w, w_type,
                     static_cast<int>(in), x, w_type, static_cast<int>(in), &beta, y, y_type,
                     static_cast<int>(out), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx");
}

struct Workspace {
  int64_t float_count, counter_count;
  Buffer floats, counters;
  explicit Workspace(int64_t floats_wanted, int64_t counters_wanted)
      : float_count(floats_wanted),
        counter_count(counters_wanted),
        floats(std::make_unique<DeviceBuffer>(
            static_cast<size_t>(std::max<int64_t>(1, floats_wanted)) * 4)),
        counters(std::make_unique<DeviceBuffer>(
            static_cast<size_t>(std::max<int64_t>(1, counters_wanted)) * 4)) {
    check(cudaMemset(counters->get(), 0, counters->bytes()), "cudaMemset");
  }
};

// The kernel's calls under `plan`, cycling over the layer's copies.
std::function<void(int)> matvec_calls(const Int4Layer& layer, const GptqMatvecPlan& plan,
                                      const void* x, void* y, const Workspace& workspace,
                                      cudaStream_t stream, bool overlap = true) {
  if (plan.workspace_floats > workspace.float_count || plan.counters > workspace.counter_count) {
    std::fprintf(stderr, "the bench's workspace is too small for %d splits\n", plan.splits);
    std::exit(1);
  }
  return [&layer, plan, x, y, &workspace, stream, overlap](int i) {
    GptqMatvecArgs args;
    args.x = x;
    args.y = y;
    args.y_dtype = DeviceDtype::bf16;
    args.workspace = workspace.floats->get<float>();
    args.counters = workspace.counters->get<int>();
    args.overlap_previous = overlap;
    lmf::quant::gptq_matvec_cuda(layer.view(i % layer.copies()), plan, args, stream);
  };
}

// max |a − b| / max |b| of two device float vectors.
double relative_difference(const float* a, const float* b, int64_t n) {
  std::vector<float> ha(static_cast<size_t>(n)), hb(static_cast<size_t>(n));
  check(cudaMemcpy(ha.data(), a, ha.size() * 4, cudaMemcpyDeviceToHost), "cudaMemcpy");
  check(cudaMemcpy(hb.data(), b, hb.size() * 4, cudaMemcpyDeviceToHost), "cudaMemcpy");
  double diff = 0, ref = 0;
  for (size_t i = 0; i < ha.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(ha[i] - hb[i])));
    ref = std::max(ref, static_cast<double>(std::fabs(hb[i])));
  }
  return diff / ref;
}

}  // namespace

int main() {
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  cudaDeviceProp props{};
  check(cudaGetDeviceProperties(&props, device), "cudaGetDeviceProperties");
  cudaStream_t stream;
  check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  cublasHandle_t handle;
  check(cublasCreate(&handle), "cublasCreate");
  check(cublasSetStream(handle, stream), "cublasSetStream");
  DeviceBuffer cublas_workspace(size_t{32} << 20);  // no allocation while a graph is captured
  check(cublasSetWorkspace(handle, cublas_workspace.get(), cublas_workspace.bytes()),
        "cublasSetWorkspace");

  const double copy = copy_bandwidth(stream);
  std::printf(
      "device: %s, %d SMs, L2 %d MB; device copy bandwidth %.0f GB/s (read + write, 1 GiB)\n",
      props.name, props.multiProcessorCount, props.l2CacheSize >> 20, copy / 1e9);
  std::printf("int4: 4 bits, group 128, bf16 x and y; %d calls a graph, median of %d replays\n\n",
              kCalls, kRepeats);

  Random random(2026);
  const std::vector<uint16_t> x_bf16 =
      random_16bit(static_cast<size_t>(kMaxTokens * 14336), DeviceDtype::bf16, random);
  const std::vector<uint16_t> x_f16 = random_16bit(x_bf16.size(), DeviceDtype::f16, random);
  const Buffer x = upload(x_bf16.data(), x_bf16.size() * 2);
  const Buffer x16 = upload(x_f16.data(), x_f16.size() * 2);
  const Buffer y = std::make_unique<DeviceBuffer>(static_cast<size_t>(kMaxTokens * 28672) * 4);
  const Buffer y_ref = std::make_unique<DeviceBuffer>(static_cast<size_t>(kMaxTokens * 28672) * 4);

  struct Row {
    std::string name;
    int64_t out, in;
    size_t int4_bytes, bf16_bytes;
    GptqMatvecPlan plan;
    double int4_us, int4_plain_us, generic_us, dequantize_us, dequant_gemm_us, bf16_us, agreement;
    std::vector<std::pair<int, double>> by_splits;
    std::vector<std::pair<int64_t, double>> by_tokens;
  };
  std::vector<Row> rows;
  for (const Shape& shape : kShapes) {
    Row row;
    row.name = shape.name;
    row.out = shape.out;
    row.in = shape.in;
    const Int4Layer layer(shape.out, shape.in, props.l2CacheSize, random);
    row.int4_bytes = layer.bytes() + static_cast<size_t>(shape.in + shape.out) * 2;
    row.bf16_bytes = static_cast<size_t>(shape.out * shape.in + shape.in + shape.out) * 2;
    const Workspace workspace(64 * kMaxTokens * shape.out, (shape.out + 31) / 32);

    row.plan = lmf::quant::gptq_matvec_plan(layer.view(0), DeviceDtype::bf16, 1);
    row.int4_us =
        time_per_call(stream, matvec_calls(layer, row.plan, x->get(), y->get(), workspace, stream));
    row.int4_plain_us = time_per_call(
        stream, matvec_calls(layer, row.plan, x->get(), y->get(), workspace, stream, false));
    const GptqMatvecPlan generic =
        lmf::quant::gptq_matvec_plan(layer.view(0), DeviceDtype::bf16, 1, MatvecKernel::kGeneric);
    row.generic_us =
        time_per_call(stream, matvec_calls(layer, generic, x->get(), y->get(), workspace, stream));

    const DeviceBuffer weight16(static_cast<size_t>(shape.out * shape.in) * 2);
    row.dequantize_us = time_per_call(stream, [&](int i) {
      lmf::quant::gptq_dequantize_cuda(layer.view(i % layer.copies()), DeviceDtype::bf16,
                                       weight16.get(), stream);
    });
    row.dequant_gemm_us = time_per_call(stream, [&](int i) {
      lmf::quant::gptq_dequantize_cuda(layer.view(i % layer.copies()), DeviceDtype::bf16,
                                       weight16.get(), stream);
      gemm(handle, weight16.get(), CUDA_R_16BF, x->get(), y->get(), CUDA_R_16BF, shape.out,
           shape.in, 1);
    });
    {
      const std::vector<uint16_t> host_weight =
          random_16bit(static_cast<size_t>(shape.out * shape.in), DeviceDtype::bf16, random);
      const std::vector<Buffer> weights =
          device_copies(host_weight.data(), host_weight.size() * 2,
                        copies_for(row.bf16_bytes, props.l2CacheSize));
      row.bf16_us = time_per_call(stream, [&](int i) {
        gemm(handle, weights[static_cast<size_t>(i) % weights.size()]->get(), CUDA_R_16BF, x->get(),
             y->get(), CUDA_R_16BF, shape.out, shape.in, 1);
      });
    }

    // The kernel against fp16 dequantize-then-cuBLAS on the same layer, fp32 outputs.
    {
      const GptqMatvecPlan plan16 =
          lmf::quant::gptq_matvec_plan(layer.view(0), DeviceDtype::f16, 1);
      GptqMatvecArgs args;
      args.x = x16->get();
      args.y = y->get();
      args.y_dtype = DeviceDtype::f32;
      args.workspace = workspace.floats->get<float>();
      args.counters = workspace.counters->get<int>();
      lmf::quant::gptq_matvec_cuda(layer.view(0), plan16, args, stream);
      lmf::quant::gptq_dequantize_cuda(layer.view(0), DeviceDtype::f16, weight16.get(), stream);
      gemm(handle, weight16.get(), CUDA_R_16F, x16->get(), y_ref->get(), CUDA_R_32F, shape.out,
           shape.in, 1);
      check(cudaStreamSynchronize(stream), "agreement");
      row.agreement = relative_difference(y->get<float>(), y_ref->get<float>(), shape.out);
    }

    for (int splits : {1, 2, 4, 8, 16, 32, 64}) {
      if (splits > shape.in / 128) break;
      const GptqMatvecPlan plan = lmf::quant::gptq_matvec_plan(layer.view(0), DeviceDtype::bf16, 1,
                                                               MatvecKernel::kAuto, splits);
      row.by_splits.emplace_back(
          splits,
          time_per_call(stream, matvec_calls(layer, plan, x->get(), y->get(), workspace, stream)));
    }
    for (int64_t tokens : {int64_t{1}, int64_t{2}, int64_t{4}, int64_t{8}}) {
      const GptqMatvecPlan plan =
          lmf::quant::gptq_matvec_plan(layer.view(0), DeviceDtype::bf16, tokens);
      row.by_tokens.emplace_back(
          tokens,
          time_per_call(stream, matvec_calls(layer, plan, x->get(), y->get(), workspace, stream)));
    }
    rows.push_back(std::move(row));
    std::fprintf(stderr, "%s done\n", shape.name);
  }

  auto gbps = [](size_t bytes, double us) {
    return static_cast<double>(bytes) / (us * 1e-6) / 1e9;
  };
  std::printf(
      "| layer | out × in | int4 MB | int4 kernel µs | GB/s | of copy | not overlapped µs | of copy "
      "| block | CUDA-core kernel µs | dequantize µs | dequantize + cuBLAS µs | int4 GB/s that "
      "gives | bf16 cuBLAS µs | bf16 GB/s | of copy | kernel vs fp16 dequantize + cuBLAS |\n");
  std::printf(
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
      "| --- | --- |\n");
  double int4_layer = 0, int4_plain_layer = 0, dequant_layer = 0, bf16_layer = 0;
  for (const Row& r : rows) {
    const std::string block = std::to_string(r.plan.warps) + " warps, " +
                              std::to_string(r.plan.slices) + " slices, " +
                              std::to_string(r.plan.loads) + " loads, " +
                              std::to_string(r.plan.splits) + " split" +
                              (r.plan.splits > 1 ? "s" : "");
    std::printf(
        "| %s | %lld × %lld | %.1f | %.1f | %.0f | %.0f%% | %.1f | %.0f%% | %s | %.1f | %.1f | "
        "%.1f | %.0f | %.1f | %.0f | %.0f%% | %.1e |\n",
        r.name.c_str(), static_cast<long long>(r.out), static_cast<long long>(r.in),
        r.int4_bytes / 1e6, r.int4_us, gbps(r.int4_bytes, r.int4_us),
        100 * gbps(r.int4_bytes, r.int4_us) * 1e9 / copy, r.int4_plain_us,
        100 * gbps(r.int4_bytes, r.int4_plain_us) * 1e9 / copy, block.c_str(), r.generic_us,
        r.dequantize_us, r.dequant_gemm_us, gbps(r.int4_bytes, r.dequant_gemm_us), r.bf16_us,
        gbps(r.bf16_bytes, r.bf16_us), 100 * gbps(r.bf16_bytes, r.bf16_us) * 1e9 / copy,
        r.agreement);
    int4_layer += r.int4_us;
    int4_plain_layer += r.int4_plain_us;
    dequant_layer += r.dequant_gemm_us;
    bf16_layer += r.bf16_us;
  }
  size_t layer_int4_bytes = 0;
  for (const Row& r : rows) layer_int4_bytes += r.int4_bytes;
  std::printf(
      "\none decoder layer's projections (sum of the four): int4 kernel %.1f µs (%.0f%% of copy; "
      "%.1f µs, %.0f%%, not overlapped), dequantize + cuBLAS %.1f µs, bf16 cuBLAS %.1f µs; × %d "
      "layers: %.2f / %.2f / %.2f ms a token\n\n",
      int4_layer, 100 * gbps(layer_int4_bytes, int4_layer) * 1e9 / copy, int4_plain_layer,
      100 * gbps(layer_int4_bytes, int4_plain_layer) * 1e9 / copy, dequant_layer, bf16_layer,
      kLayers, kLayers * int4_layer / 1e3, kLayers * dequant_layer / 1e3,
      kLayers * bf16_layer / 1e3);

  std::printf(
      "int4 kernel µs by the number of splits of the input dimension (the plan's block; it "
      "picks one split)\n\n");
  std::printf("| layer |");
  for (const auto& [splits, us] : rows.front().by_splits) std::printf(" %d |", splits);
  std::printf("\n| --- |");
  for (size_t i = 0; i < rows.front().by_splits.size(); ++i) std::printf(" --- |");
  std::printf("\n");
  for (const Row& r : rows) {
    std::printf("| %s |", r.name.c_str());
    for (size_t i = 0; i < rows.front().by_splits.size(); ++i) {
      if (i < r.by_splits.size())
        std::printf(" %.1f |", r.by_splits[i].second);
      else
        std::printf(" |");
    }
    std::printf("\n");
  }
  std::printf(
      "\nint4 kernel µs by tokens (one layer read, n = 8 of the mma padded with zeros)\n\n| layer "
      "|");
  for (const auto& [tokens, us] : rows.front().by_tokens)
    std::printf(" %lld |", static_cast<long long>(tokens));
  std::printf("\n| --- | --- | --- | --- | --- |\n");
  for (const Row& r : rows) {
    std::printf("| %s |", r.name.c_str());
    for (const auto& [tokens, us] : r.by_tokens) std::printf(" %.1f |", us);
    std::printf("\n");
  }
  cublasDestroy(handle);
  cudaStreamDestroy(stream);
  return 0;
}
