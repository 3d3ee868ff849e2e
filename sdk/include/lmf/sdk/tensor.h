// lmforge SDK — DLPack tensors with ownership and checks.
#pragma once

#include <lmf/sdk/error.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <numeric>
#include <span>
#include <string>
#include <vector>

namespace lmf::sdk {

template <class T>
DLDataType dtype_of();
template <>
inline DLDataType dtype_of<float>() {
  return {kDLFloat, 32, 1};
}
template <>
inline DLDataType dtype_of<double>() {
  return {kDLFloat, 64, 1};
}
template <>
inline DLDataType dtype_of<int8_t>() {
  return {kDLInt, 8, 1};
}
template <>
inline DLDataType dtype_of<uint8_t>() {
  return {kDLUInt, 8, 1};
}
template <>
inline DLDataType dtype_of<int32_t>() {
  return {kDLInt, 32, 1};
}
template <>
inline DLDataType dtype_of<int64_t>() {
  return {kDLInt, 64, 1};
}

inline bool operator==(DLDataType a, DLDataType b) {
  return a.code == b.code && a.bits == b.bits && a.lanes == b.lanes;
}

inline std::string dtype_name(DLDataType type) {
  const char* base = type.code == kDLFloat    ? "float"
                     : type.code == kDLInt    ? "int"
                     : type.code == kDLUInt   ? "uint"
                     : type.code == kDLBfloat ? "bfloat"
                                              : "dtype";
  // Appended rather than `base + std::to_string(...)`: GCC 12 at -O3 warns (-Wrestrict, a
  // false positive) on operator+(const char*, std::string&&) in every plugin including this.
  std::string name = base;
  name += std::to_string(type.bits);
  if (type.lanes != 1) {
    name += 'x';
    name += std::to_string(type.lanes);
  }
  return name;
}

// A borrowed DLTensor with the checks a kernel needs before it touches the data.
class TensorView {
 public:
  TensorView(const DLTensor& tensor, std::string name) : t_(&tensor), name_(std::move(name)) {}

  int ndim() const { return t_->ndim; }
  int64_t dim(int i) const { return t_->shape[i]; }
  int64_t numel() const {
    return std::accumulate(t_->shape, t_->shape + t_->ndim, int64_t{1}, std::multiplies<>());
  }
  DLDataType dtype() const { return t_->dtype; }
  bool on_cpu() const { return t_->device.device_type == kDLCPU; }

  // Row-major with no gaps: strides NULL or equal to the compact ones.
  bool contiguous() const {
    if (t_->strides == nullptr) return true;
    int64_t expected = 1;
    for (int i = t_->ndim - 1; i >= 0; --i) {
      if (t_->shape[i] != 1 && t_->strides[i] != expected) return false;
      expected *= t_->shape[i];
    }
    return true;
  }

  // Throws LMF_ERR_INVALID_ARGUMENT naming the tensor unless it is a contiguous CPU tensor
  // of `type` with `rank` dimensions.
  const TensorView& expect_cpu(DLDataType type, int rank) const {
    if (!on_cpu()) fail(LMF_ERR_UNSUPPORTED, name_ + ": only CPU tensors are supported here");
    if (!(t_->dtype == type))
      fail(LMF_ERR_INVALID_ARGUMENT,
           name_ + ": expected " + dtype_name(type) + ", got " + dtype_name(t_->dtype));
    if (t_->ndim != rank)
      fail(LMF_ERR_INVALID_ARGUMENT, name_ + ": expected " + std::to_string(rank) +
                                         " dimensions, got " + std::to_string(t_->ndim));
    if (!contiguous()) fail(LMF_ERR_INVALID_ARGUMENT, name_ + ": must be contiguous");
    return *this;
  }

  template <class T>
  T* data() const {
    return reinterpret_cast<T*>(static_cast<char*>(t_->data) + t_->byte_offset);
  }
  const DLTensor& raw() const { return *t_; }

 private:
  const DLTensor* t_;
  std::string name_;
};

// Owns a DLManagedTensor and calls its deleter once.
class ManagedTensor {
 public:
  ManagedTensor() = default;
  explicit ManagedTensor(DLManagedTensor* tensor) : t_(tensor) {}
  ManagedTensor(ManagedTensor&& other) noexcept : t_(std::exchange(other.t_, nullptr)) {}
  ManagedTensor& operator=(ManagedTensor&& other) noexcept {
    if (this != &other) {
      reset();
      t_ = std::exchange(other.t_, nullptr);
    }
    return *this;
  }
  ManagedTensor(const ManagedTensor&) = delete;
  ManagedTensor& operator=(const ManagedTensor&) = delete;
  ~ManagedTensor() { reset(); }

  void reset() {
    if (t_ != nullptr && t_->deleter != nullptr) t_->deleter(t_);
    t_ = nullptr;
  }
  DLManagedTensor* release() { return std::exchange(t_, nullptr); }
  DLManagedTensor* get() const { return t_; }
  DLTensor& tensor() const { return t_->dl_tensor; }
  explicit operator bool() const { return t_ != nullptr; }

 private:
  DLManagedTensor* t_ = nullptr;
};

// A contiguous, zero-filled CPU tensor made by the host, so that its deleter is host code
// and the tensor may outlive this plugin.
inline ManagedTensor make_cpu_tensor(DLDataType type, std::span<const int64_t> shape) {
  DLManagedTensor* out = nullptr;
  check(api().tensor_alloc(type, static_cast<int32_t>(shape.size()), shape.data(), &out));
  return ManagedTensor(out);
}
inline ManagedTensor make_cpu_tensor(DLDataType type, std::initializer_list<int64_t> shape) {
  return make_cpu_tensor(type, std::span<const int64_t>(shape.begin(), shape.size()));
}

}  // namespace lmf::sdk
