// The int4 tensor-core matrix-vector kernel of the GPTQ layout (gptq_kernels_cuda.cu, Note
// [GPTQ CUDA kernels]) alone, on the projections of one Llama-8B layer (4 bits, groups of
// 128, bf16 x and y): every block shape and split count the kernel is compiled for, with and
// without the overlapped launch, against the device copy bandwidth; then the plan's own
// choice for 1 to 8 tokens. Plain CUDA, no CMake and no libtorch: on the GPU machine,
//   nvcc -std=c++17 -arch=sm_90 -O3 -I . bench/quantizer/int4_matvec_kernel_bench.cu -o /tmp/kb
//   /tmp/kb [CSV]      (CSV: every configuration's time, written there)
// -DLMF_MATVEC_SOURCE='"path/to/gptq_kernels_cuda.cu"' -DLMF_MATVEC_PLAN_ONLY measures
// another version of the kernels through its plan alone (e.g. the one before a change).
// Checks: each configuration's y for token 0 (and the plan's for 3 tokens) against a double
// sum on the host; largest difference over largest output.
// Timing: as lmf_int4_matvec_bench (docs/benchmarks.md): kCalls calls captured in a CUDA
// graph, cycling over copies of the layer that together exceed 4× the L2 cache, replayed
// kRepeats times; the median over kCalls.
#ifndef LMF_MATVEC_SOURCE
#define LMF_MATVEC_SOURCE "plugins/quantizer/common/gptq_kernels_cuda.cu"
#endif
#include LMF_MATVEC_SOURCE

#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace q = lmf::quant;

namespace {

constexpr int kCalls = 100;
constexpr int kRepeats = 7;
constexpr int64_t kGroupSize = 128;
constexpr int64_t kMaxTokens = q::kGptqMatvecMaxTokens;

void ok(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(status));
  std::exit(1);
}

template <typename T = void>
T* device_alloc(size_t bytes) {
  void* p = nullptr;
  ok(cudaMalloc(&p, std::max<size_t>(bytes, 16)), "cudaMalloc");
  return static_cast<T*>(p);
}

uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// A 4-bit layer with groups of 128 in order, in `copies` places on the device; the host keeps
// the first copy for the reference.
struct Layer {
  int64_t out, in, groups;
  std::vector<int32_t> qweight, qzeros;
  std::vector<uint16_t> scales;
  std::vector<int32_t*> d_qweight, d_qzeros;
  std::vector<uint16_t*> d_scales;

  Layer(int64_t out_features, int64_t in_features, uint64_t seed, int l2_bytes)
      : out(out_features), in(in_features), groups(in_features / kGroupSize) {
    qweight.resize(static_cast<size_t>(in / 8 * out));
    qzeros.resize(static_cast<size_t>(groups * out / 8));
    scales.resize(static_cast<size_t>(groups * out));
    uint64_t state = seed;
    for (int32_t& w : qweight) w = static_cast<int32_t>(mix(state += 0x9e3779b97f4a7c15ull));
    for (int32_t& z : qzeros) z = static_cast<int32_t>(mix(state += 0x9e3779b97f4a7c15ull));
    for (uint16_t& s : scales) {
      const float u = static_cast<float>(mix(state += 0x9e3779b97f4a7c15ull) >> 40) / 16777216.f;
      s = __half_as_ushort(__float2half_rn(0.001f + 0.009f * u));
    }
    const size_t wanted = (4 * static_cast<size_t>(l2_bytes) + bytes() - 1) / bytes();
    const int copies = static_cast<int>(std::clamp<size_t>(wanted, 2, 64));
    for (int i = 0; i < copies; ++i) {
      d_qweight.push_back(upload(qweight));
      d_qzeros.push_back(upload(qzeros));
      d_scales.push_back(upload(scales));
    }
  }
  template <typename T>
  static T* upload(const std::vector<T>& host) {
    T* p = device_alloc<T>(host.size() * sizeof(T));
    ok(cudaMemcpy(p, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice), "upload");
    return p;
  }
  size_t bytes() const { return static_cast<size_t>(in * out / 2 + groups * out / 2 + groups * out * 2); }
  int copies() const { return static_cast<int>(d_qweight.size()); }
  q::GptqView view(int copy) const {
    q::GptqView v;
    v.bits = 4;
    v.out_features = out;
    v.in_features = in;
    v.groups = groups;
    v.qweight = d_qweight[static_cast<size_t>(copy)];
    v.qzeros = d_qzeros[static_cast<size_t>(copy)];
    v.scales = d_scales[static_cast<size_t>(copy)];
    v.sequential_group_size = kGroupSize;
    return v;
  }
  // y[t][o] for x [tokens][in] (floats), in double.
  std::vector<double> reference(const std::vector<float>& x, int tokens) const {
    std::vector<double> y(static_cast<size_t>(tokens * out), 0.0);
    std::vector<float> scale(static_cast<size_t>(out)), zero(static_cast<size_t>(out));
    for (int64_t r = 0; r < in / 8; ++r) {
      const int64_t group = r * 8 / kGroupSize;
      if (r * 8 % kGroupSize == 0)
        for (int64_t o = 0; o < out; ++o) {
          scale[o] = __half2float(__ushort_as_half(scales[group * out + o]));
          zero[o] = static_cast<float>(((static_cast<uint32_t>(qzeros[group * out / 8 + o / 8]) >> (o % 8 * 4)) & 15u) + 1u);
        }
      for (int64_t o = 0; o < out; ++o) {
        const uint32_t word = static_cast<uint32_t>(qweight[r * out + o]);
        for (int j = 0; j < 8; ++j) {
          const double w = static_cast<double>(scale[o]) * (static_cast<double>((word >> (4 * j)) & 15u) - zero[o]);
          for (int t = 0; t < tokens; ++t) y[t * out + o] += w * x[t * in + r * 8 + j];
        }
      }
    }
    return y;
  }
};

// µs per call: the median over kRepeats replays of a graph of kCalls calls.
double time_per_call(cudaStream_t stream, const std::function<void(int)>& call) {
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  ok(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), "capture");
  for (int i = 0; i < kCalls; ++i) call(i);
  ok(cudaStreamEndCapture(stream, &graph), "end capture");
  ok(cudaGraphInstantiate(&exec, graph, 0), "instantiate");
  ok(cudaGraphLaunch(exec, stream), "launch");
  ok(cudaStreamSynchronize(stream), "warm-up");
  cudaEvent_t start, stop;
  ok(cudaEventCreate(&start), "event");
  ok(cudaEventCreate(&stop), "event");
  std::vector<double> times;
  for (int r = 0; r < kRepeats; ++r) {
    ok(cudaEventRecord(start, stream), "record");
    ok(cudaGraphLaunch(exec, stream), "launch");
    ok(cudaEventRecord(stop, stream), "record");
    ok(cudaEventSynchronize(stop), "sync");
    float ms = 0.f;
    ok(cudaEventElapsedTime(&ms, start, stop), "elapsed");
    times.push_back(1000.0 * ms / kCalls);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

double copy_bandwidth(cudaStream_t stream) {
  const size_t bytes = size_t{1} << 30;
  void* a = device_alloc(bytes);
  void* b = device_alloc(bytes);
  ok(cudaMemset(a, 1, bytes), "memset");
  const double us = time_per_call(stream, [&](int) {
    ok(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, stream), "copy");
  });
  cudaFree(a);
  cudaFree(b);
  return 2.0 * static_cast<double>(bytes) / (us * 1e-6);
}

struct Shape {
  const char* name;
  int64_t out, in;
};
constexpr Shape kShapes[] = {
    {"qkv", 6144, 4096}, {"o", 4096, 4096}, {"gate_up", 28672, 4096}, {"down", 4096, 14336}};

struct Buffers {
  const void* x;
  float* y;
  float* workspace;
  int* counters;
};

void call(const Layer& layer, int copy, const q::GptqMatvecPlan& plan, const Buffers& b, bool overlap,
          cudaStream_t stream) {
  q::GptqMatvecArgs args;
  args.x = b.x;
  args.y = b.y;
  args.y_dtype = q::DeviceDtype::f32;
  args.workspace = b.workspace;
  args.counters = b.counters;
#ifndef LMF_MATVEC_PLAN_ONLY
  args.overlap_previous = overlap;
#else
  (void)overlap;
#endif
  q::gptq_matvec_cuda(layer.view(copy), plan, args, stream);
}

// max |y − ref| / max |ref| over the first `tokens` rows.
double agreement(const float* y, const std::vector<double>& ref) {
  std::vector<float> host(ref.size());
  ok(cudaMemcpy(host.data(), y, host.size() * 4, cudaMemcpyDeviceToHost), "y");
  double diff = 0, top = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    diff = std::max(diff, std::fabs(host[i] - ref[i]));
    top = std::max(top, std::fabs(ref[i]));
  }
  return diff / top;
}

std::string describe(const q::GptqMatvecPlan& plan) {
#ifndef LMF_MATVEC_PLAN_ONLY
  return std::to_string(plan.warps) + "w/" + std::to_string(plan.slices) + "s/" +
         std::to_string(plan.loads) + "l/" + std::to_string(plan.splits) + "p";
#else
  return std::to_string(plan.splits) + "p";
#endif
}

}  // namespace

int main(int argc, char** argv) {
  FILE* csv = argc > 1 ? std::fopen(argv[1], "w") : nullptr;
  if (csv) std::fprintf(csv, "shape,warps,slices,loads,splits,overlap,us,gbps,of_copy,agreement\n");
  cudaDeviceProp props{};
  ok(cudaGetDeviceProperties(&props, 0), "properties");
  cudaStream_t stream;
  ok(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "stream");
  const double copy = copy_bandwidth(stream);
  std::printf("%s, %d SMs, L2 %d MB: copy %.0f GB/s\n", props.name, props.multiProcessorCount,
              props.l2CacheSize >> 20, copy / 1e9);

  std::vector<float> x_host(static_cast<size_t>(kMaxTokens * 14336));
  std::vector<uint16_t> x_bits(x_host.size());
  for (size_t i = 0; i < x_host.size(); ++i) {
    const float u = static_cast<float>(mix(i * 7 + 3) >> 40) / 16777216.f;
    const __nv_bfloat16 v = __float2bfloat16_rn(-0.05f + 0.1f * u);
    x_host[i] = __bfloat162float(v);
    x_bits[i] = __bfloat16_as_ushort(v);
  }
  Buffers buffers;
  buffers.x = Layer::upload(x_bits);
  buffers.y = device_alloc<float>(kMaxTokens * 28672 * 4);
  buffers.workspace = device_alloc<float>(64 * kMaxTokens * 28672 * 4);
  buffers.counters = device_alloc<int>(65536 * 4);
  ok(cudaMemset(buffers.counters, 0, 65536 * 4), "memset");

  double layer_best = 0, layer_plan = 0;
  size_t layer_bytes = 0;
  for (const Shape& shape : kShapes) {
    const Layer layer(shape.out, shape.in, 1000 + shape.out + shape.in, props.l2CacheSize);
    const size_t bytes = layer.bytes() + static_cast<size_t>(shape.in + shape.out) * 2;
    layer_bytes += bytes;
    const std::vector<double> ref1 = layer.reference(x_host, 1);
    const std::vector<double> ref3 = layer.reference(x_host, 3);
    auto of_copy = [&](double us) { return 100.0 * bytes / (us * 1e-6) / copy; };
    auto measure = [&](const q::GptqMatvecPlan& plan, bool overlap, int tokens) {
      ok(cudaMemset(buffers.y, 0xff, kMaxTokens * 28672 * 4), "memset");
      call(layer, 0, plan, buffers, false, stream);
      ok(cudaStreamSynchronize(stream), "check call");
      const double agree = agreement(buffers.y, tokens == 3 ? ref3 : std::vector<double>(ref1.begin(), ref1.end()));
      const double us = time_per_call(stream, [&](int i) {
        call(layer, i % layer.copies(), plan, buffers, overlap, stream);
      });
      return std::make_pair(us, agree);
    };

    std::printf("\n%s %lld x %lld, %.1f MB\n", shape.name, (long long)shape.out, (long long)shape.in,
                bytes / 1e6);
    const q::GptqMatvecPlan auto_plan = q::gptq_matvec_plan(layer.view(0), q::DeviceDtype::bf16, 1);
    double plan_us = 1e9;
    for (bool overlap : {false, true}) {
      const auto [us, agree] = measure(auto_plan, overlap, 1);
      std::printf("plan %s overlap %d: %.2f us, %.0f%% of copy, agreement %.1e\n",
                  describe(auto_plan).c_str(), overlap, us, of_copy(us), agree);
      plan_us = std::min(plan_us, us);
    }
    layer_plan += plan_us;
    {
      const q::GptqMatvecPlan plan3 = q::gptq_matvec_plan(layer.view(0), q::DeviceDtype::bf16, 3);
      const auto [us, agree] = measure(plan3, false, 3);
      std::printf("plan for 3 tokens %s: %.2f us, agreement %.1e\n", describe(plan3).c_str(), us, agree);
    }
#ifndef LMF_MATVEC_PLAN_ONLY
    struct Result {
      std::string config;
      bool overlap;
      double us, agree;
    };
    std::vector<Result> results;
    const q::DeviceFacts device = q::device_facts("bench");
    for (int warps : {4, 8, 16})
      for (int slices = 1; slices <= warps; slices *= 2)
        for (int loads : {4, 8})
          for (int splits : {1, 2, 3, 4, 6, 8}) {
            const q::GptqMatvecPlan plan = q::with_block(auto_plan, warps, slices, loads, splits);
            if (shape.in / 32 / (slices * splits) < 2 || q::matvec_launch(plan).kernel == nullptr) continue;
            if (q::resident_blocks(plan, device) == 0) continue;
            for (bool overlap : {false, true}) {
              const auto [us, agree] = measure(plan, overlap, 1);
              results.push_back({describe(plan), overlap, us, agree});
              if (csv)
                std::fprintf(csv, "%s,%d,%d,%d,%d,%d,%.3f,%.1f,%.1f,%.2e\n", shape.name, warps, slices,
                             loads, splits, overlap, us, bytes / (us * 1e-6) / 1e9, of_copy(us), agree);
            }
          }
    std::sort(results.begin(), results.end(), [](const Result& a, const Result& b) { return a.us < b.us; });
    double worst = 0;
    for (const Result& r : results) worst = std::max(worst, r.agree);
    std::printf("%zu configurations, worst agreement %.1e; fastest:\n", results.size(), worst);
    for (size_t i = 0; i < std::min<size_t>(12, results.size()); ++i)
      std::printf("  %s overlap %d: %.2f us, %.0f%% of copy\n", results[i].config.c_str(), results[i].overlap,
                  results[i].us, of_copy(results[i].us));
    for (bool overlap : {false, true})
      for (const Result& r : results)
        if (r.overlap == overlap) {
          std::printf("  best %s overlap: %s %.2f us\n", overlap ? "with" : "without", r.config.c_str(), r.us);
          break;
        }
    layer_best += results.empty() ? 0 : results.front().us;
#endif
    {
      std::printf("plan by tokens:");
      for (int tokens = 1; tokens <= kMaxTokens; tokens *= 2) {
        const q::GptqMatvecPlan plan = q::gptq_matvec_plan(layer.view(0), q::DeviceDtype::bf16, tokens);
        const double us = time_per_call(stream, [&](int i) {
          call(layer, i % layer.copies(), plan, buffers, true, stream);
        });
        std::printf(" %d: %.2f us (%s);", tokens, us, describe(plan).c_str());
      }
      std::printf("\n");
    }
    std::fflush(stdout);
  }
  std::printf("\nlayer: plan %.1f us (%.0f%% of copy), best configurations %.1f us (%.0f%%)\n", layer_plan,
              100.0 * layer_bytes / (layer_plan * 1e-6) / copy, layer_best,
              layer_best > 0 ? 100.0 * layer_bytes / (layer_best * 1e-6) / copy : 0.0);
  if (csv) std::fclose(csv);
  return 0;
}
