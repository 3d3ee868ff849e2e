// CPU kernels of the GPTQ layout (Note [GPTQ checkpoint layout]): dequantize to float32 and
// y = x·Wᵀ, straight from the packed tensors. An AVX2/FMA path is chosen at run time where
// the CPU has it; a portable path runs everywhere else (Note [GPTQ CPU kernels]).
#pragma once

#include <cstdint>

namespace lmf::quant {

// The packed tensors of one layer, borrowed (e.g. from a layer's DLPack tensors).
struct GptqView {
  int bits = 4;
  int64_t out_features = 0;
  int64_t in_features = 0;
  int64_t groups = 1;
  const int32_t* qweight = nullptr;  // [in * bits / 32, out]
  const int32_t* qzeros = nullptr;   // [groups, out * bits / 32], zero - 1
  const uint16_t* scales = nullptr;  // [groups, out], fp16
  const int32_t* g_idx = nullptr;    // [in], each in [0, groups)
  // Inputs per group when g_idx[i] = i / group_size for every i (in_features for one group),
  // else 0: act-order or any other map, read per input.
  int64_t sequential_group_size = 0;
};

// The sequential_group_size a view of this g_idx gets (see GptqView).
int64_t sequential_group_size(const int32_t* g_idx, int64_t in_features, int64_t groups);

struct GptqTensors;
// A view of packed tensors held in host memory (which must outlive it).
GptqView gptq_view(const GptqTensors& packed);

enum class CpuKernel {
  kAuto,      // AVX2/FMA when the CPU has it, else portable
  kPortable,  // plain C++, any CPU
  kAvx2,      // AVX2 + FMA + F16C; std::invalid_argument where the CPU lacks them
};

// Whether this CPU (and this build) can run CpuKernel::kAvx2.
bool cpu_has_avx2_kernels();

// weight [out_features, in_features] float32, row-major: scales[g][o] * (code - zero).
void gptq_dequantize(const GptqView& layer, float* weight, CpuKernel kernel = CpuKernel::kAuto);

// y [tokens, out_features] = x [tokens, in_features] · Wᵀ, float32, row-major.
void gptq_matmul(const GptqView& layer, const float* x, int64_t tokens, float* y,
                 CpuKernel kernel = CpuKernel::kAuto);

}  // namespace lmf::quant
