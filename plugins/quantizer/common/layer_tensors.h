// What the quantizers' SDK layers share when they hold their packed tensors in host memory
// and rebuild them from a checkpoint's borrowed tensors: shape checks that name the tensor,
// copies in and out, and the by-name lookup of import_layer's tensors.
#pragma once

#include <lmf/sdk/quantizer.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace lmf::quant {

inline constexpr DLDataType kInt32Type{kDLInt, 32, 1};
inline constexpr DLDataType kFloat16Type{kDLFloat, 16, 1};
inline constexpr DLDataType kFloat32Type{kDLFloat, 32, 1};

// "[a, b, …]".
std::string shape_text(const std::vector<int64_t>& shape);
std::vector<int64_t> shape_of(const DLTensor& tensor);

// Throws LMF_ERR_INVALID_ARGUMENT "NAME: expected shape [...], got [...]" on a mismatch.
void expect_shape(const DLTensor& tensor, const std::string& name,
                  const std::vector<int64_t>& expected);

// A host-allocated CPU tensor holding a copy of `values`.
template <class T>
sdk::ManagedTensor tensor_of(DLDataType dtype, const std::vector<int64_t>& shape,
                             const std::vector<T>& values) {
  sdk::ManagedTensor tensor = sdk::make_cpu_tensor(dtype, shape);
  std::memcpy(sdk::TensorView(tensor.tensor(), "").data<T>(), values.data(),
              values.size() * sizeof(T));
  return tensor;
}

// A copy of a CPU tensor's elements.
template <class T>
std::vector<T> values_of(const DLTensor& tensor) {
  const sdk::TensorView view(tensor, "");
  const T* data = view.data<T>();
  return std::vector<T>(data, data + view.numel());
}

// What import_layer accepts of one tensor: its dtype and rank.
struct ExpectedTensor {
  DLDataType dtype;
  int rank;
  bool required;
};

// import_layer's borrowed tensors by name, each checked to be a CPU tensor of its expected
// dtype and rank. Unknown, NULL, repeated or missing required tensors are refused with a
// message naming the tensor; `layout` ("a GPTQ layer") names the format in the message.
std::map<std::string, const DLTensor*> named_tensors(
    std::span<const lmf_named_tensor> tensors,
    const std::map<std::string, ExpectedTensor>& expected, const std::string& layout);

// The group sizes a quantizer advertises: -1, 32, 64, 128 and the configured one.
sdk::Json advertised_group_sizes(int64_t configured);

}  // namespace lmf::quant
