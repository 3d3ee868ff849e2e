// The mixed-precision AdamW step (Note [Fused AdamW on CUDA], training/adamw.cpp): per
// element 2 bytes of grad and 12 of master and moments read, 12 written back and 2 of
// parameter, ~28 bytes in all, where widening the grad, libtorch's fused kernel on the
// fp32 copies and the cast back cost ~60.
//
// Multi-tensor as libtorch's multi_tensor_apply: the launch's table of tensors is a kernel
// argument (up to kMaxTensors a launch, under the 4 KiB that kernel arguments may hold),
// each tensor cut into chunks of kChunk elements, one block a chunk; a block finds its
// tensor from the table's running count of blocks. Nothing is copied to the device.
#include "kernels/adamw_kernels.h"

#include "kernels/device_common.cuh"

#include <climits>

namespace lmf::torch_backend::kernels {
namespace {

constexpr int kMaxTensors = 64;
constexpr int kThreads = 512;
constexpr int kIlp = 4;                       // elements a thread handles at once
constexpr int64_t kChunk = int64_t{1} << 16;  // elements a block handles (libtorch's kChunkSize)

// libtorch's kernel casts every hyperparameter to fp32 (its opmath type) first.
struct Hyperparameters {
  float lr, beta1, beta2, eps;
};

struct TensorArgs {
  void* parameter;
  const void* grad;
  float* master;
  float* exp_avg;
  float* exp_avg_sq;
  int64_t numel;
  float weight_decay;
  float step;  // libtorch keeps the step count as an fp32 tensor
};

struct LaunchTable {
  TensorArgs tensors[kMaxTensors];
  int first_block[kMaxTensors + 1];  // tensor i has blocks [first_block[i], first_block[i + 1])
  int count;
};
static_assert(sizeof(LaunchTable) + sizeof(Hyperparameters) + sizeof(float*) <= 4096,
              "kernel arguments are limited to 4 KiB");

template <typename T>
struct alignas(sizeof(T) * kIlp) Packed {
  T v[kIlp];
};
struct alignas(16) Floats {
  float v[kIlp];
};

// adam_math of libtorch's fused_adam_utils.cuh (ADAMW mode, no amsgrad, no maximize) as
// of libtorch 2.11, in its order and with its fp32 operations: the moments as its two
// FMAs (a lerp that rounds differently from the single-tensor path's lerp_), ε added after
// dividing by sqrt(1 − β2^t), the division by bias_correction1 folded into step_size.
// Where it may differ: the decay's `param − lr·wd·param` is left to nvcc's contraction as
// in libtorch's source (the same FMA when both builds contract alike, nvcc's default;
// checked bit for bit against 2.11+cu130 on an H100), and libtorch releases before the
// move to fp32 opmath computed the moments and the decay in fp64 (last-bit differences).
__device__ __forceinline__ void adamw_math(float& param, float& exp_avg, float& exp_avg_sq,
                                           float grad, float weight_decay, const Hyperparameters& h,
                                           float step_size, float bias_correction2_sqrt) {
  if (weight_decay != 0) param -= h.lr * weight_decay * param;
  exp_avg = fmaf(h.beta1, exp_avg, fmaf(-h.beta1, grad, grad));
  exp_avg_sq = fmaf(h.beta2, exp_avg_sq, fmaf(-h.beta2, grad * grad, grad * grad));
  const float denom = (sqrtf(exp_avg_sq) / bias_correction2_sqrt) + h.eps;
  param -= step_size * exp_avg / denom;
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    adamw_kernel(const __grid_constant__ LaunchTable table, const Hyperparameters h,
                 const float* __restrict__ grad_scale) {
  int index = 0;
  while (index + 1 < table.count && static_cast<int>(blockIdx.x) >= table.first_block[index + 1])
    ++index;
  const TensorArgs& t = table.tensors[index];
  // The bias corrections as libtorch's kernel computes them, in fp32 from the fp32 step.
  const float bias_correction1 = 1 - powf(h.beta1, t.step);
  const float bias_correction2_sqrt = sqrtf(1 - powf(h.beta2, t.step));
  const float step_size = h.lr / bias_correction1;
  // The clip coefficient as `grad.mul_(scale)` on a CUDA tensor of type T applies it: the
  // fp32 scalar is read as T, the product taken in fp32 and rounded to T.
  const bool scaled = grad_scale != nullptr;
  const float scale = scaled ? rounded<T>(*grad_scale) : 1.f;
  auto load_grad = [&](T g) { return scaled ? rounded<T>(to_float(g) * scale) : to_float(g); };

  T* parameter = static_cast<T*>(t.parameter);
  const T* grad = static_cast<const T*>(t.grad);
  const int64_t begin = (static_cast<int64_t>(blockIdx.x) - table.first_block[index]) * kChunk;
  const int64_t end = min(begin + kChunk, t.numel);
  auto one = [&](int64_t i) {
    float p = t.master[i], m = t.exp_avg[i], v = t.exp_avg_sq[i];
    adamw_math(p, m, v, load_grad(grad[i]), t.weight_decay, h, step_size, bias_correction2_sqrt);
    t.master[i] = p;
    t.exp_avg[i] = m;
    t.exp_avg_sq[i] = v;
    parameter[i] = from_float<T>(p);
  };

  const auto address = [](const void* p) { return reinterpret_cast<uintptr_t>(p); };
  const bool aligned =
      (address(t.master) | address(t.exp_avg) | address(t.exp_avg_sq)) % sizeof(Floats) == 0 &&
      (address(parameter) | address(grad)) % sizeof(Packed<T>) == 0;
  int64_t vector_end = begin;  // chunks start at multiples of kChunk: vectors stay aligned
  if (aligned) {
    vector_end = begin + (end - begin) / kIlp * kIlp;
    for (int64_t i = begin + threadIdx.x * kIlp; i < vector_end; i += kThreads * kIlp) {
      const Packed<T> g = *reinterpret_cast<const Packed<T>*>(grad + i);
      Floats p = *reinterpret_cast<const Floats*>(t.master + i);
      Floats m = *reinterpret_cast<const Floats*>(t.exp_avg + i);
      Floats v = *reinterpret_cast<const Floats*>(t.exp_avg_sq + i);
      Packed<T> out;
#pragma unroll
      for (int j = 0; j < kIlp; ++j) {
        adamw_math(p.v[j], m.v[j], v.v[j], load_grad(g.v[j]), t.weight_decay, h, step_size,
                   bias_correction2_sqrt);
        out.v[j] = from_float<T>(p.v[j]);
      }
      *reinterpret_cast<Floats*>(t.master + i) = p;
      *reinterpret_cast<Floats*>(t.exp_avg + i) = m;
      *reinterpret_cast<Floats*>(t.exp_avg_sq + i) = v;
      *reinterpret_cast<Packed<T>*>(parameter + i) = out;
    }
  }
  for (int64_t i = vector_end + threadIdx.x; i < end; i += kThreads) one(i);
}

template <typename F>
void dispatch_16bit(Dtype dtype, F&& launch) {
  switch (dtype) {
    case Dtype::f16:
      launch(__half{});
      break;
    case Dtype::bf16:
      launch(__nv_bfloat16{});
      break;
    case Dtype::f32:
      throw std::invalid_argument(
          "adamw_mixed_precision_step: fp32 parameters have no master copy");
  }
}

}  // namespace

void adamw_mixed_precision_step(Dtype dtype, const AdamWTensor* tensors, int64_t count,
                                const AdamWHyperparameters& hyper, const float* grad_scale,
                                void* stream) {
  dispatch_16bit(dtype, [](auto) {});  // refuses fp32 before anything runs
  for (int64_t k = 0; k < count; ++k)
    if (tensors[k].numel > 0 && tensors[k].step < 1)
      throw std::invalid_argument("adamw_mixed_precision_step: step counts start at 1");
  const Hyperparameters h{static_cast<float>(hyper.lr), static_cast<float>(hyper.beta1),
                          static_cast<float>(hyper.beta2), static_cast<float>(hyper.eps)};
  LaunchTable table{};
  int64_t blocks = 0;
  auto launch = [&] {
    if (table.count == 0) return;
    table.first_block[table.count] = static_cast<int>(blocks);
    dispatch_16bit(dtype, [&](auto zero) {
      using T = decltype(zero);
      adamw_kernel<T>
          <<<static_cast<unsigned>(blocks), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
              table, h, grad_scale);
    });
    check(cudaGetLastError(), "adamw_mixed_precision_step");
    table = LaunchTable{};
    blocks = 0;
  };
  for (int64_t k = 0; k < count; ++k) {
    const AdamWTensor& in = tensors[k];
    if (in.numel == 0) continue;
    const int64_t chunks = (in.numel + kChunk - 1) / kChunk;
    if (table.count == kMaxTensors || blocks + chunks > INT_MAX) launch();
    table.first_block[table.count] = static_cast<int>(blocks);
    TensorArgs& t = table.tensors[table.count++];
    t = {in.parameter, in.grad, in.master, in.exp_avg, in.exp_avg_sq, in.numel};
    t.weight_decay = static_cast<float>(in.weight_decay);
    t.step = static_cast<float>(in.step);
    blocks += chunks;
  }
  launch();
}

}  // namespace lmf::torch_backend::kernels
