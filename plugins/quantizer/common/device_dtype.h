// What the quantizers' CUDA code and its host-side callers share without CUDA headers: the
// element types of activations and dequantized weights, and the error a device layer throws
// instead of allocating inside a CUDA graph capture.
#pragma once

#include <stdexcept>

namespace lmf::quant {

// Element types of x, y and the dequantized weight.
enum class DeviceDtype : int { f32 = 0, f16 = 1, bf16 = 2 };

// What a call throws instead of allocating while its stream is being captured.
class DeviceCaptureError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace lmf::quant
