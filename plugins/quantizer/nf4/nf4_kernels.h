// CPU kernels of the NF4 layout: dequantize to float32 and y = x·Wᵀ straight from the
// packed nibbles. An AVX2/FMA path is chosen at run time where the CPU has it; a portable
// path runs everywhere else (Note [NF4 CPU kernels]).
#pragma once

#include <cstdint>

namespace lmf::quant::nf4 {

// Note [NF4 CPU kernels]
// The weight is the row-major [out, in] matrix flattened and cut into blocks of
// block_size values, so a row is a run of whole or partial blocks and may start in the
// middle of a byte (when `in` is odd). The kernels walk each row as segments that lie in
// one block: a segment's weights are level[code] * absmax[block], so a dot product sums
// x * level[code] over the segment and multiplies by the absmax once.
//   - batch 1 (one token) is a matrix-vector product and bandwidth-bound: it reads the
//     packed nibbles directly, 4 bits per weight, and turns each into its level with a
//     16-entry table lookup (AVX2: two 8-lane permutes and a blend on the code's top bit;
//     each segment's 8 lanes are scaled by its absmax into running lanes, so a row ends in
//     one horizontal sum).
//   - more tokens: each row is dequantized once into a float buffer in cache and dotted
//     with every token.
// Rows are spread over threads (parallel_columns); each output element is written by one
// thread and summed in a fixed order, so results do not depend on the thread count.
// dequantize is level * absmax, one float product, bit for bit bitsandbytes' dequantize_4bit.

// One layer's tensors, borrowed.
struct Nf4View {
  int64_t out_features = 0;
  int64_t in_features = 0;
  int64_t block_size = 64;
  const uint8_t* packed = nullptr;  // [out * in / 2]: element 2k in the high nibble of byte k
  const float* absmax = nullptr;    // [out * in / block_size], after double quantization
};

enum class CpuKernel {
  kAuto,      // AVX2/FMA when the CPU has it, else portable
  kPortable,  // plain C++, any CPU
  kAvx2,      // AVX2 + FMA; std::invalid_argument where the CPU or the build lacks them
};

// Whether this CPU (and this build) can run CpuKernel::kAvx2.
bool cpu_has_avx2_kernels();

// weight [out_features, in_features] float32, row-major.
void nf4_dequantize(const Nf4View& layer, float* weight, CpuKernel kernel = CpuKernel::kAuto);

// y [tokens, out_features] = x [tokens, in_features] · Wᵀ, float32, row-major.
void nf4_matmul(const Nf4View& layer, const float* x, int64_t tokens, float* y,
                CpuKernel kernel = CpuKernel::kAuto);

}  // namespace lmf::quant::nf4
