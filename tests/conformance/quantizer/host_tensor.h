// Tensors the conformance suite hands to quantizers: made by the host's tensor_alloc, as a
// backend's would be, and freed through their DLPack deleter.
#pragma once

#include "core/plugin/host_api.h"
#include "core/plugin/status.h"

#include <lmf/lmf.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace lmf::conformance {

inline DLDataType float32_type() {
  return {kDLFloat, 32, 1};
}
inline DLDataType int32_type() {
  return {kDLInt, 32, 1};
}

inline bool same_dtype(DLDataType a, DLDataType b) {
  return a.code == b.code && a.bits == b.bits && a.lanes == b.lanes;
}

class HostTensor {
 public:
  HostTensor(DLDataType dtype, const std::vector<int64_t>& shape) {
    DLManagedTensor* made = nullptr;
    plugin::check_status(plugin::host_api()->tensor_alloc(dtype, static_cast<int32_t>(shape.size()),
                                                          shape.data(), &made),
                         "tensor_alloc");
    tensor_.reset(made);
  }

  DLManagedTensor* managed() const { return tensor_.get(); }
  DLTensor& dl() const { return tensor_->dl_tensor; }
  template <class T>
  T* data() const {
    return reinterpret_cast<T*>(static_cast<char*>(dl().data) + dl().byte_offset);
  }
  int64_t numel() const { return numel_of(dl()); }
  size_t bytes() const {
    return static_cast<size_t>(numel()) * ((dl().dtype.bits * dl().dtype.lanes + 7u) / 8u);
  }
  // Sets every byte to `byte`; NaN for float32 with 0xff.
  void fill_bytes(unsigned char byte) { std::memset(data<unsigned char>(), byte, bytes()); }

  static int64_t numel_of(const DLTensor& t) {
    int64_t count = 1;
    for (int i = 0; i < t.ndim; ++i) count *= t.shape[i];
    return count;
  }
  // Row-major without gaps (NULL strides, or the compact ones).
  static bool compact(const DLTensor& t) {
    if (t.strides == nullptr) return true;
    int64_t expected = 1;
    for (int i = t.ndim - 1; i >= 0; --i) {
      if (t.shape[i] != 1 && t.strides[i] != expected) return false;
      expected *= t.shape[i];
    }
    return true;
  }

 private:
  struct Deleter {
    void operator()(DLManagedTensor* tensor) const {
      if (tensor != nullptr && tensor->deleter != nullptr) tensor->deleter(tensor);
    }
  };
  std::unique_ptr<DLManagedTensor, Deleter> tensor_;
};

// A float32 tensor holding `values` (row-major, `shape`).
inline HostTensor float_tensor(const std::vector<int64_t>& shape,
                               const std::vector<float>& values) {
  HostTensor tensor(float32_type(), shape);
  std::memcpy(tensor.data<float>(), values.data(), values.size() * sizeof(float));
  return tensor;
}

}  // namespace lmf::conformance
