// The decode kernels' matrix-vector products (Note [Decode kernels], Note [Loads in
// flight]) on the projection shapes of Qwen2-1.5B and Llama-8B (issue 5), against a bf16
// cuBLAS GEMV (cublasGemmEx, N = 1) and a device-to-device copy of the same bytes, then a
// whole decode step's layers (q/k/v with the rotary embedding and the KV-cache write,
// attention, o, gate/up, down) back to back with overlapped launches. Plain CUDA and
// cuBLAS, no libtorch: one nvcc command on the GPU machine,
//   nvcc -std=c++17 -arch=sm_90 -O3 -I plugins/backend/torch bench/backend/decode_gemv_bench.cu -lcublas -o /tmp/b
// (-DLMF_GEMV_SOURCE='"path/to/decode_kernels.cu"' -DLMF_GEMV_OLD measures an earlier
// version of the kernels, without the fused rotary embedding.)
// Checks: each projection's output (and the caches it writes) against cuBLAS's fp32 sum over
// the same normalised input, with the epilogue applied on the host; relative max error.
// Timing: kCalls calls captured in a CUDA graph, cycling over copies of the weights that
// together exceed 8× the L2 cache, replayed kRepeats times between events; the median.
#ifndef LMF_GEMV_SOURCE
#define LMF_GEMV_SOURCE "kernels/decode_kernels.cu"
#endif
#include LMF_GEMV_SOURCE
#include "kernels/fused_kernels.cu"

#include <cublas_v2.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace k = lmf::torch_backend::kernels;
using bf16 = __nv_bfloat16;

namespace {

constexpr int kCalls = 48;
constexpr int kRepeats = 15;

#define CHECK(call) k::check((call), #call)

void check_cublas(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + ": cuBLAS error " + std::to_string(status));
}

__global__ void fill_random(bf16* p, int64_t n, uint64_t seed, float scale) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    uint64_t h = (i + 1) * 0x9E3779B97F4A7C15ull ^ seed * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    h *= 0x94D049BB133111EBull;
    h ^= h >> 29;
    const float u = static_cast<float>(h >> 40) / static_cast<float>(1 << 24);  // [0, 1)
    p[i] = __float2bfloat16_rn((2.f * u - 1.f) * scale);
  }
}

bf16* device_random(int64_t n, uint64_t seed, float scale) {
  bf16* p = nullptr;
  CHECK(cudaMalloc(&p, std::max<int64_t>(n, 8) * sizeof(bf16)));
  fill_random<<<1024, 256>>>(p, n, seed, scale);
  CHECK(cudaGetLastError());
  return p;
}

std::vector<float> to_host(const bf16* p, int64_t n) {
  std::vector<bf16> raw(n);
  CHECK(cudaMemcpy(raw.data(), p, n * sizeof(bf16), cudaMemcpyDeviceToHost));
  std::vector<float> out(n);
  for (int64_t i = 0; i < n; ++i) out[i] = __bfloat162float(raw[i]);
  return out;
}

float round_bf16(float x) { return __bfloat162float(__float2bfloat16_rn(x)); }

// The median time of one call of `calls` (captured in a graph of kCalls calls).
double time_graph(cudaStream_t stream, const std::function<void(int)>& call, int calls = kCalls) {
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  for (int i = 0; i < calls; ++i) call(i);
  CHECK(cudaStreamEndCapture(stream, &graph));
  CHECK(cudaGraphInstantiate(&exec, graph, 0));
  CHECK(cudaGraphLaunch(exec, stream));
  CHECK(cudaGraphLaunch(exec, stream));
  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  std::vector<float> ms;
  for (int r = 0; r < kRepeats; ++r) {
    CHECK(cudaEventRecord(start, stream));
    CHECK(cudaGraphLaunch(exec, stream));
    CHECK(cudaEventRecord(stop, stream));
    CHECK(cudaEventSynchronize(stop));
    float t = 0;
    CHECK(cudaEventElapsedTime(&t, start, stop));
    ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  CHECK(cudaGraphExecDestroy(exec));
  CHECK(cudaGraphDestroy(graph));
  CHECK(cudaEventDestroy(start));
  CHECK(cudaEventDestroy(stop));
  return ms[ms.size() / 2] * 1e3 / calls;  // µs
}

struct Model {
  const char* name;
  int64_t hidden, intermediate, layers, heads, kv_heads, head_dim;
  bool qkv_bias;
};

enum class Kind { qkv, o, gate_up, down };

struct Projection {
  const char* name;
  Kind kind;
  int64_t rows, width;
};

std::vector<Projection> projections(const Model& m) {
  const int64_t q = m.heads * m.head_dim, kv = m.kv_heads * m.head_dim;
  return {{"qkv+norm+rope", Kind::qkv, q + 2 * kv, m.hidden},
          {"o+residual", Kind::o, m.hidden, q},
          {"gate_up+norm+swiglu", Kind::gate_up, 2 * m.intermediate, m.hidden},
          {"down+residual", Kind::down, m.hidden, m.intermediate}};
}

constexpr int64_t kCapacity = 320;  // cache positions
constexpr int64_t kSlot = 191;      // this step's position: 192 keys

// One projection's buffers and its kernel arguments.
struct Setup {
  Projection p;
  const Model* m;
  std::vector<bf16*> weights;  // copies
  bf16 *x, *norm, *bias, *residual, *y, *cos, *sin, *k_cache, *v_cache;
  int64_t* slot;
  int64_t out_rows() const { return p.kind == Kind::gate_up ? p.rows / 2 : p.rows; }

  k::GemvArgs args(int copy) const {
    k::GemvArgs a;
    a.weight = weights[copy % weights.size()];
    a.rows = p.rows;
    a.width = p.width;
    a.weight_stride = p.width;
    a.x = x;
    a.y = y;
    a.eps = 1e-6f;
    if (p.kind == Kind::qkv || p.kind == Kind::gate_up) a.norm_weight = norm;
    if (p.kind == Kind::qkv && m->qkv_bias) a.bias = bias;
    if (p.kind == Kind::o || p.kind == Kind::down) a.residual = residual;
    a.swiglu = p.kind == Kind::gate_up;
#ifndef LMF_GEMV_OLD
    if (p.kind == Kind::qkv) {
      a.rope.cos = cos;
      a.rope.sin = sin;
      a.rope.head_dim = m->head_dim;
      a.rope.q_rows = m->heads * m->head_dim;
      a.rope.kv_rows = m->kv_heads * m->head_dim;
      a.rope.k_cache = k_cache;
      a.rope.v_cache = v_cache;
      a.rope.cache_head_stride = kCapacity * m->head_dim;
      a.rope.cache_position_stride = m->head_dim;
      a.rope.slot = slot;
    }
#endif
    return a;
  }
};

Setup make_setup(const Model& m, const Projection& p, int64_t l2_bytes, uint64_t seed) {
  Setup s{p, &m};
  const int64_t bytes = p.rows * p.width * 2;
  const int copies = static_cast<int>(std::max<int64_t>(2, (8 * l2_bytes + bytes - 1) / bytes));
  for (int c = 0; c < copies; ++c) s.weights.push_back(device_random(p.rows * p.width, seed + c, 1.f / std::sqrt(static_cast<float>(p.width))));
  s.x = device_random(p.width, seed + 100, 2.f);
  s.norm = device_random(p.width, seed + 101, 1.5f);
  s.bias = device_random(p.rows, seed + 102, 0.5f);
  s.residual = device_random(p.rows, seed + 103, 1.f);
  s.y = device_random(p.rows, seed + 104, 1.f);
  s.cos = device_random(m.head_dim, seed + 105, 1.f);
  s.sin = device_random(m.head_dim, seed + 106, 1.f);
  s.k_cache = device_random(m.kv_heads * kCapacity * m.head_dim, seed + 107, 1.f);
  s.v_cache = device_random(m.kv_heads * kCapacity * m.head_dim, seed + 108, 1.f);
  CHECK(cudaMalloc(&s.slot, sizeof(int64_t)));
  const int64_t slot = kSlot;
  CHECK(cudaMemcpy(s.slot, &slot, sizeof(slot), cudaMemcpyHostToDevice));
  CHECK(cudaDeviceSynchronize());
  return s;
}

void free_setup(Setup& s) {
  for (bf16* w : s.weights) CHECK(cudaFree(w));
  for (void* p : {static_cast<void*>(s.x), static_cast<void*>(s.norm), static_cast<void*>(s.bias),
                  static_cast<void*>(s.residual), static_cast<void*>(s.y), static_cast<void*>(s.cos),
                  static_cast<void*>(s.sin), static_cast<void*>(s.k_cache), static_cast<void*>(s.v_cache),
                  static_cast<void*>(s.slot)})
    CHECK(cudaFree(p));
}

// y = W x in fp32 by cuBLAS (x bf16 [width] → y fp32 [rows]).
void cublas_gemv(cublasHandle_t handle, const bf16* w, const bf16* x, void* y, int64_t rows, int64_t width,
                 cudaDataType out_type) {
  const float alpha = 1.f, beta = 0.f;
  check_cublas(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(rows), 1, static_cast<int>(width), &alpha,
                            w, CUDA_R_16BF, static_cast<int>(width), x, CUDA_R_16BF, static_cast<int>(width), &beta, y,
                            out_type, static_cast<int>(rows), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
               "cublasGemmEx");
}

// Max |ours − reference| / max |reference| of the projection's outputs (and cache rows).
double check_projection(const Setup& s, cublasHandle_t handle, cudaStream_t stream) {
  const Projection& p = s.p;
  const Model& m = *s.m;
  const std::vector<float> x = to_host(s.x, p.width), norm = to_host(s.norm, p.width);
  const bool normed = p.kind == Kind::qkv || p.kind == Kind::gate_up;
  std::vector<float> xn = x;
  if (normed) {
    double sum = 0;
    for (float v : x) sum += static_cast<double>(v) * v;
    const float rstd = 1.f / std::sqrt(static_cast<float>(sum / p.width) + 1e-6f);
    for (int64_t i = 0; i < p.width; ++i) xn[i] = round_bf16(norm[i] * round_bf16(x[i] * rstd));
  }
  std::vector<bf16> xn_raw(p.width);
  for (int64_t i = 0; i < p.width; ++i) xn_raw[i] = __float2bfloat16_rn(xn[i]);
  bf16* xn_dev;
  float* sums_dev;
  CHECK(cudaMalloc(&xn_dev, p.width * sizeof(bf16)));
  CHECK(cudaMalloc(&sums_dev, p.rows * sizeof(float)));
  CHECK(cudaMemcpy(xn_dev, xn_raw.data(), p.width * sizeof(bf16), cudaMemcpyHostToDevice));
  cublas_gemv(handle, s.weights[0], xn_dev, sums_dev, p.rows, p.width, CUDA_R_32F);
  CHECK(cudaStreamSynchronize(stream));
  std::vector<float> sums(p.rows);
  CHECK(cudaMemcpy(sums.data(), sums_dev, p.rows * sizeof(float), cudaMemcpyDeviceToHost));
  CHECK(cudaFree(xn_dev));
  CHECK(cudaFree(sums_dev));

  const std::vector<float> bias = to_host(s.bias, p.rows), residual = to_host(s.residual, p.rows);
  const std::vector<float> k_before = to_host(s.k_cache, m.kv_heads * kCapacity * m.head_dim);
  CHECK(cudaMemset(s.y, 0xff, p.rows * sizeof(bf16)));  // NaN: every output must be written
  CHECK(cudaDeviceSynchronize());
  k::gemv(k::Dtype::bf16, s.args(0), stream);
  CHECK(cudaStreamSynchronize(stream));
  const std::vector<float> y = to_host(s.y, s.out_rows());

  std::vector<float> ref(s.out_rows());
  const bool with_bias = p.kind == Kind::qkv && m.qkv_bias;
  for (int64_t r = 0; r < s.out_rows(); ++r) {
    if (p.kind == Kind::gate_up) {
      const float gate = round_bf16(sums[r]), up = round_bf16(sums[r + s.out_rows()]);
      ref[r] = round_bf16(round_bf16(gate / (1.f + std::exp(-gate))) * up);
    } else if (p.kind == Kind::o || p.kind == Kind::down) {
      ref[r] = round_bf16(residual[r] + round_bf16(sums[r]));
    } else {
      ref[r] = round_bf16(sums[r] + (with_bias ? bias[r] : 0.f));
    }
  }
  double scale = 0, error = 0;
  std::vector<float> k_cache, v_cache;
#ifndef LMF_GEMV_OLD
  if (p.kind == Kind::qkv) {  // the rotary embedding of q and k; k and v in the caches
    const std::vector<float> cos = to_host(s.cos, m.head_dim), sin = to_host(s.sin, m.head_dim);
    const int64_t d = m.head_dim, half = d / 2, q_rows = m.heads * d, kv_rows = m.kv_heads * d;
    std::vector<float> turned = ref;
    for (int64_t head = 0; head < (q_rows + kv_rows) / d; ++head) {
      for (int64_t i = 0; i < half; ++i) {
        const float x1 = ref[head * d + i], x2 = ref[head * d + i + half];
        turned[head * d + i] = round_bf16(round_bf16(x1 * cos[i]) + round_bf16(-x2 * sin[i]));
        turned[head * d + i + half] = round_bf16(round_bf16(x2 * cos[i + half]) + round_bf16(x1 * sin[i + half]));
      }
    }
    ref = turned;
    k_cache = to_host(s.k_cache, m.kv_heads * kCapacity * d);
    v_cache = to_host(s.v_cache, m.kv_heads * kCapacity * d);
    for (int64_t h = 0; h < m.kv_heads; ++h) {
      for (int64_t i = 0; i < d; ++i) {
        const int64_t at = (h * kCapacity + kSlot) * d + i;
        error = std::max<double>(error, std::abs(k_cache[at] - ref[q_rows + h * d + i]));
        error = std::max<double>(error, std::abs(v_cache[at] - ref[q_rows + kv_rows + h * d + i]));
        if (std::abs(k_cache[at - d] - k_before[at - d]) > 0) error = 1e9;  // the slot before is untouched
      }
    }
  }
#endif
  for (int64_t r = 0; r < s.out_rows(); ++r) {
    scale = std::max<double>(scale, std::abs(ref[r]));
    const double e = std::abs(static_cast<double>(y[r]) - ref[r]);
    error = std::max(error, std::isnan(e) ? 1e9 : e);
  }
  return error / scale;
}

#ifndef LMF_GEMV_OLD
// The kernel with another split than gemv() chooses (Note [Loads in flight]).
template <k::GemvRows kRows>
void launch_variant(const k::GemvArgs& a, cudaStream_t stream, int blocks, int min_chunks, int max_loads) {
  const int64_t pairs = kRows == k::GemvRows::adjacent ? (a.rows + 1) / 2 : a.rows / 2;
  const k::GemvSplit split = k::gemv_split(pairs, a.width / 8, min_chunks, max_loads);
  if (a.norm_weight) k::launch_gemv<bf16, kRows, true>(a, split, blocks, stream);
  else k::launch_gemv<bf16, kRows, false>(a, split, blocks, stream);
}

void launch_variant(const k::GemvArgs& a, cudaStream_t stream, int blocks, int min_chunks, int max_loads) {
  if (a.swiglu) launch_variant<k::GemvRows::swiglu>(a, stream, blocks, min_chunks, max_loads);
  else if (a.rope.cos) launch_variant<k::GemvRows::rope>(a, stream, blocks, min_chunks, max_loads);
  else launch_variant<k::GemvRows::adjacent>(a, stream, blocks, min_chunks, max_loads);
}
#endif

// Each projection alone: ours, cuBLAS, a copy of the same bytes.
void bench_projections(const Model& m, int64_t l2_bytes, cublasHandle_t handle, cudaStream_t stream,
                       double copy_bandwidth) {
  std::printf("\n%s (%s): us per call, GB/s of the weights, %% of the copy bandwidth (%.0f GB/s)\n", m.name,
              "bf16", copy_bandwidth / 1e9);
  std::printf("| projection | rows x width | MB | ours us | ours GB/s | %% of copy | cuBLAS us | cuBLAS GB/s | copy us | rel. error |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  uint64_t seed = 1;
  for (const Projection& p : projections(m)) {
    Setup s = make_setup(m, p, l2_bytes, seed += 1000);
    const double bytes = static_cast<double>(p.rows * p.width * 2);
    const double error = check_projection(s, handle, stream);
    const double ours = time_graph(stream, [&](int i) { k::gemv(k::Dtype::bf16, s.args(i), stream); });
    bf16* cublas_y;
    CHECK(cudaMalloc(&cublas_y, p.rows * sizeof(bf16)));
    const double cublas = time_graph(stream, [&](int i) {
      cublas_gemv(handle, s.weights[i % s.weights.size()], s.x, cublas_y, p.rows, p.width, CUDA_R_16BF);
    });
    bf16* copy_to;
    CHECK(cudaMalloc(&copy_to, static_cast<size_t>(bytes)));
    const double copy = time_graph(stream, [&](int i) {
      CHECK(cudaMemcpyAsync(copy_to, s.weights[i % s.weights.size()], static_cast<size_t>(bytes),
                            cudaMemcpyDeviceToDevice, stream));
    });
    std::printf("| %s | %lld x %lld | %.1f | %.2f | %.0f | %.0f%% | %.2f | %.0f | %.2f | %.1e |\n", p.name,
                static_cast<long long>(p.rows), static_cast<long long>(p.width), bytes / 1e6, ours, bytes / ours / 1e3,
                100.0 * bytes / (ours * 1e-6) / copy_bandwidth, cublas, bytes / cublas / 1e3, copy, error);
#ifndef LMF_GEMV_OLD
    if (std::getenv("SWEEP")) {  // passes in flight a warp, blocks a multiprocessor, least warps a pair
      struct Variant {
        int blocks, chunks, loads;
      };
      for (const Variant v : {Variant{3, 2, 4}, Variant{3, 4, 4}, Variant{3, 1, 2}, Variant{2, 1, 4}}) {
        const double t = time_graph(stream, [&](int i) { launch_variant(s.args(i), stream, v.blocks, v.chunks, v.loads); });
        std::printf("|   %d blocks/SM, >= %d warps a pair, <= %d loads | | | %.2f | %.0f | %.0f%% | | | | |\n", v.blocks,
                    v.chunks, v.loads, t, bytes / t / 1e3, 100.0 * bytes / (t * 1e-6) / copy_bandwidth);
      }
    }
#endif
    CHECK(cudaFree(cublas_y));
    CHECK(cudaFree(copy_to));
    free_setup(s);
  }
}

// A decode step's layers: q/k/v (norm, bias, rotary embedding, cache write), attention,
// o (+ residual), gate/up (norm, SwiGLU), down (+ residual); and, for comparison, the
// four projections through cuBLAS alone (no norms, no attention).
void bench_layers(const Model& m, cublasHandle_t handle, cudaStream_t stream, double copy_bandwidth) {
  const int64_t d = m.head_dim, q_rows = m.heads * d, kv_rows = m.kv_heads * d;
  struct Layer {
    bf16 *qkv, *o, *gate_up, *down, *input_norm, *post_norm, *bias, *k_cache, *v_cache;
  };
  std::vector<Layer> layers(m.layers);
  uint64_t seed = 77;
  double bytes = 0;
  for (Layer& l : layers) {
    l.qkv = device_random((q_rows + 2 * kv_rows) * m.hidden, ++seed, 1.f / std::sqrt(float(m.hidden)));
    l.o = device_random(m.hidden * q_rows, ++seed, 1.f / std::sqrt(float(q_rows)));
    l.gate_up = device_random(2 * m.intermediate * m.hidden, ++seed, 1.f / std::sqrt(float(m.hidden)));
    l.down = device_random(m.hidden * m.intermediate, ++seed, 1.f / std::sqrt(float(m.intermediate)));
    l.input_norm = device_random(m.hidden, ++seed, 1.f);
    l.post_norm = device_random(m.hidden, ++seed, 1.f);
    l.bias = device_random(q_rows + 2 * kv_rows, ++seed, 0.1f);
    l.k_cache = device_random(kv_rows * kCapacity, ++seed, 1.f);
    l.v_cache = device_random(kv_rows * kCapacity, ++seed, 1.f);
    bytes += 2.0 * ((q_rows + 2 * kv_rows) * m.hidden + m.hidden * q_rows + 3 * m.intermediate * m.hidden);
    bytes += 2.0 * 2 * kv_rows * (kSlot + 1);
  }
  bf16 *h = device_random(m.hidden, 5, 1.f), *h2 = device_random(m.hidden, 6, 1.f);
  bf16 *qkv = device_random(q_rows + 2 * kv_rows, 7, 1.f), *q = device_random(q_rows, 8, 1.f);
  bf16 *attended = device_random(q_rows, 9, 1.f), *act = device_random(m.intermediate, 10, 1.f);
  bf16 *cos = device_random(d, 11, 1.f), *sin = device_random(d, 12, 1.f);
  int64_t* slot;
  CHECK(cudaMalloc(&slot, sizeof(int64_t)));
  const int64_t slot_value = kSlot;
  CHECK(cudaMemcpy(slot, &slot_value, sizeof(slot_value), cudaMemcpyHostToDevice));
  float* workspace;
  int* counters;
  CHECK(cudaMalloc(&workspace, std::max<int64_t>(1, k::decode_attention_workspace(1, m.heads, d, kCapacity)) * 4));
  CHECK(cudaMalloc(&counters, m.heads * 4));
  CHECK(cudaMemset(counters, 0, m.heads * 4));
  CHECK(cudaDeviceSynchronize());

  auto gemv = [&](const bf16* w, int64_t rows, int64_t width, const bf16* x, bf16* y) {
    k::GemvArgs a;
    a.weight = w;
    a.rows = rows;
    a.width = width;
    a.weight_stride = width;
    a.x = x;
    a.y = y;
    a.eps = 1e-6f;
    return a;
  };
  auto step = [&](bool fused_rope, bool projections = true, bool attention = true) {
    for (const Layer& l : layers) {
      if (!projections) {
        k::DecodeAttentionArgs at;
        at.q = q;
        at.q_strides[0] = q_rows;
        at.q_strides[1] = d;
        at.k_cache = l.k_cache;
        at.v_cache = l.v_cache;
        at.cache_strides[0] = kv_rows * kCapacity;
        at.cache_strides[1] = kCapacity * d;
        at.cache_strides[2] = d;
        at.batch = 1;
        at.heads = m.heads;
        at.kv_heads = m.kv_heads;
        at.head_dim = d;
        at.max_keys = kCapacity;
        at.slot = slot;
        at.scale = 1.f / std::sqrt(float(d));
        at.out = attended;
        at.workspace = workspace;
        at.counters = counters;
        k::decode_attention(k::Dtype::bf16, at, stream);
        continue;
      }
      k::GemvArgs a = gemv(l.qkv, q_rows + 2 * kv_rows, m.hidden, h, qkv);
      a.norm_weight = l.input_norm;
      if (m.qkv_bias) a.bias = l.bias;
#ifndef LMF_GEMV_OLD
      if (fused_rope) {
        a.rope.cos = cos;
        a.rope.sin = sin;
        a.rope.head_dim = d;
        a.rope.q_rows = q_rows;
        a.rope.kv_rows = kv_rows;
        a.rope.k_cache = l.k_cache;
        a.rope.v_cache = l.v_cache;
        a.rope.cache_head_stride = kCapacity * d;
        a.rope.cache_position_stride = d;
        a.rope.slot = slot;
      }
#endif
      k::gemv(k::Dtype::bf16, a, stream);
      const bf16* q_in = qkv;
      if (!fused_rope) {
        const k::RopeStoreShape shape{1, m.heads, m.kv_heads, d, {q_rows, d}, {kv_rows, d}, {kv_rows, d}, {q_rows, d},
                                      {kv_rows * kCapacity, kCapacity * d, d}};
        k::rope_and_store(k::Dtype::bf16, qkv, qkv + q_rows, qkv + q_rows + kv_rows, cos, sin, q, l.k_cache, l.v_cache,
                          slot, shape, stream);
        q_in = q;
      }
      k::DecodeAttentionArgs at;
      at.q = q_in;
      at.q_strides[0] = q_rows;
      at.q_strides[1] = d;
      at.k_cache = l.k_cache;
      at.v_cache = l.v_cache;
      at.cache_strides[0] = kv_rows * kCapacity;
      at.cache_strides[1] = kCapacity * d;
      at.cache_strides[2] = d;
      at.batch = 1;
      at.heads = m.heads;
      at.kv_heads = m.kv_heads;
      at.head_dim = d;
      at.max_keys = kCapacity;
      at.slot = slot;
      at.scale = 1.f / std::sqrt(float(d));
      at.out = attended;
      at.workspace = workspace;
      at.counters = counters;
      if (attention) k::decode_attention(k::Dtype::bf16, at, stream);
      a = gemv(l.o, m.hidden, q_rows, attended, h2);
      a.residual = h;
      k::gemv(k::Dtype::bf16, a, stream);
      a = gemv(l.gate_up, 2 * m.intermediate, m.hidden, h2, act);
      a.norm_weight = l.post_norm;
      a.swiglu = true;
      k::gemv(k::Dtype::bf16, a, stream);
      a = gemv(l.down, m.hidden, m.intermediate, act, h);
      a.residual = h2;
      k::gemv(k::Dtype::bf16, a, stream);
    }
  };
  bf16* scratch;
  CHECK(cudaMalloc(&scratch, 2 * m.intermediate * 2));
  auto cublas_step = [&] {
    for (const Layer& l : layers) {
      cublas_gemv(handle, l.qkv, h, scratch, q_rows + 2 * kv_rows, m.hidden, CUDA_R_16BF);
      cublas_gemv(handle, l.o, attended, scratch, m.hidden, q_rows, CUDA_R_16BF);
      cublas_gemv(handle, l.gate_up, h2, scratch, 2 * m.intermediate, m.hidden, CUDA_R_16BF);
      cublas_gemv(handle, l.down, act, scratch, m.hidden, m.intermediate, CUDA_R_16BF);
    }
  };
  const double roofline = bytes / copy_bandwidth * 1e6;
  std::printf("\n%s, %lld layers (%.0f MB of weights and keys/values): us per step\n", m.name,
              static_cast<long long>(m.layers), bytes / 1e6);
  std::printf("| chain | us a step | us a layer | of roofline (%.0f us) |\n| --- | --- | --- | --- |\n", roofline);
  auto row = [&](const char* name, double us) {
    std::printf("| %s | %.1f | %.2f | %.0f%% |\n", name, us, us / m.layers, 100 * roofline / us);
  };
#ifndef LMF_GEMV_OLD
  row("decode kernels, rope in the q/k/v GEMV", time_graph(stream, [&](int) { step(true); }, 1));
#endif
  row("decode kernels, rope_and_store kernel", time_graph(stream, [&](int) { step(false); }, 1));
  row("decode kernels, no attention", time_graph(stream, [&](int) { step(true, true, false); }, 1));
  row("attention kernels alone", time_graph(stream, [&](int) { step(true, false); }, 1));
  row("cuBLAS GEMVs alone (no norm, attention)", time_graph(stream, [&](int) { cublas_step(); }, 1));
  for (Layer& l : layers)
    for (bf16* p : {l.qkv, l.o, l.gate_up, l.down, l.input_norm, l.post_norm, l.bias, l.k_cache, l.v_cache})
      CHECK(cudaFree(p));
  for (void* p : {static_cast<void*>(h), static_cast<void*>(h2), static_cast<void*>(qkv), static_cast<void*>(q),
                  static_cast<void*>(attended), static_cast<void*>(act), static_cast<void*>(cos),
                  static_cast<void*>(sin), static_cast<void*>(slot), static_cast<void*>(workspace),
                  static_cast<void*>(counters), static_cast<void*>(scratch)})
    CHECK(cudaFree(p));
}

// Device-to-device copy bandwidth, (read + written bytes) / time, of a 1 GiB copy.
double copy_bandwidth(cudaStream_t stream) {
  const size_t bytes = size_t{1} << 30;
  void *a, *b;
  CHECK(cudaMalloc(&a, bytes));
  CHECK(cudaMalloc(&b, bytes));
  const double us = time_graph(stream, [&](int) { CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, stream)); }, 4);
  CHECK(cudaFree(a));
  CHECK(cudaFree(b));
  return 2.0 * bytes / (us * 1e-6);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    cudaDeviceProp prop;
    CHECK(cudaGetDeviceProperties(&prop, 0));
    cudaStream_t stream;
    CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    cublasHandle_t handle;
    check_cublas(cublasCreate(&handle), "cublasCreate");
    check_cublas(cublasSetStream(handle, stream), "cublasSetStream");
    const double bandwidth = copy_bandwidth(stream);
    std::printf("%s, %d multiprocessors, L2 %d MB; copy bandwidth %.0f GB/s\n", prop.name, prop.multiProcessorCount,
                prop.l2CacheSize >> 20, bandwidth / 1e9);
    const Model models[] = {{"qwen1.5b", 1536, 8960, 28, 12, 2, 128, true}, {"llama8b", 4096, 14336, 32, 32, 8, 128, false}};
    const std::string only = argc > 1 ? argv[1] : "";
    if (std::getenv("PROFILE")) {  // one call of ours and of cuBLAS on gate_up, for ncu
      for (const Model& m : models) {
        if (!only.empty() && only != m.name) continue;
        Setup s = make_setup(m, projections(m)[2], prop.l2CacheSize, 9);
        for (int i = 0; i < 2; ++i) k::gemv(k::Dtype::bf16, s.args(i), stream);
        bf16* y;
        CHECK(cudaMalloc(&y, s.p.rows * 2));
        for (int i = 0; i < 2; ++i) cublas_gemv(handle, s.weights[i], s.x, y, s.p.rows, s.p.width, CUDA_R_16BF);
        CHECK(cudaStreamSynchronize(stream));
      }
      return 0;
    }
    for (const Model& m : models) {
      if (!only.empty() && only != m.name) continue;
      bench_projections(m, prop.l2CacheSize, handle, stream, bandwidth);
      bench_layers(m, handle, stream, bandwidth);
    }
    check_cublas(cublasDestroy(handle), "cublasDestroy");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
