#include "plugins/quantizer/common/layer_tensors.h"

namespace lmf::quant {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::vector<int64_t> shape_of(const DLTensor& tensor) {
  return std::vector<int64_t>(tensor.shape, tensor.shape + tensor.ndim);
}

void expect_shape(const DLTensor& tensor, const std::string& name,
                  const std::vector<int64_t>& expected) {
  if (shape_of(tensor) != expected)
    sdk::fail(LMF_ERR_INVALID_ARGUMENT, name + ": expected shape " + shape_text(expected) +
                                            ", got " + shape_text(shape_of(tensor)));
}

std::map<std::string, const DLTensor*> named_tensors(
    std::span<const lmf_named_tensor> tensors,
    const std::map<std::string, ExpectedTensor>& expected, const std::string& layout) {
  std::string names;  // "a", "b" and "c"
  size_t listed = 0;
  for (const auto& [name, spec] : expected)
    names += (listed++ == 0 ? "" : listed == expected.size() ? " and " : ", ") + ("\"" + name + "\"");
  std::map<std::string, const DLTensor*> found;
  for (const lmf_named_tensor& named : tensors) {
    const std::string name(sdk::from_view(named.name));
    auto spec = expected.find(name);
    if (spec == expected.end())
      sdk::fail(LMF_ERR_INVALID_ARGUMENT, "import_layer: unexpected tensor \"" + name + "\" (" +
                                              layout + " has " + names + ")");
    if (named.tensor == nullptr)
      sdk::fail(LMF_ERR_INVALID_ARGUMENT, "import_layer: tensor \"" + name + "\" is NULL");
    if (!found.emplace(name, &named.tensor->dl_tensor).second)
      sdk::fail(LMF_ERR_INVALID_ARGUMENT, "import_layer: tensor \"" + name + "\" is given twice");
    sdk::TensorView(named.tensor->dl_tensor, "import_layer: tensor \"" + name + "\"")
        .expect_cpu(spec->second.dtype, spec->second.rank);
  }
  for (const auto& [name, spec] : expected)
    if (spec.required && !found.contains(name))
      sdk::fail(LMF_ERR_INVALID_ARGUMENT, "import_layer: tensor \"" + name + "\" is missing");
  return found;
}

sdk::Json advertised_group_sizes(int64_t configured) {
  sdk::Json sizes = {-1, 32, 64, 128};
  if (configured != -1 && configured != 32 && configured != 64 && configured != 128)
    sizes.push_back(configured);
  return sizes;
}

}  // namespace lmf::quant
