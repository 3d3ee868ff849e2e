#include "awq_sdk_layer.h"

#include "plugins/quantizer/common/layer_tensors.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <vector>

namespace lmf::quant::awq {
namespace {

using sdk::fail;
using sdk::Json;
using sdk::TensorView;

// The group size an imported layer's format_json gives, after checking its other fields.
int64_t read_format(const Json& format) {
  const std::string where = "import_layer: format_json";
  if (!format.is_object()) fail(LMF_ERR_INVALID_ARGUMENT, where + " must be a JSON object");
  auto name = format.find("format");
  if (name == format.end() || *name != "awq")
    fail(LMF_ERR_INVALID_ARGUMENT,
         where + ": \"format\" must be \"awq\", got " +
             (name == format.end() ? std::string("nothing") : name->dump()));
  if (auto bits = format.find("bits"); bits != format.end() && *bits != 4)
    fail(LMF_ERR_INVALID_ARGUMENT,
         where + ": \"bits\" is " + bits->dump() +
             ", but AutoAWQ's GEMM layout stores 4 (eight codes per int32)");
  if (auto zero = format.find("zero_point"); zero != format.end() && *zero != true)
    fail(LMF_ERR_INVALID_ARGUMENT,
         where + ": \"zero_point\" is " + zero->dump() +
             ", but AutoAWQ's GEMM layout stores only grids with a zero point");
  if (auto version = format.find("version"); version != format.end()) {
    std::string text = version->is_string() ? version->get<std::string>() : version->dump();
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (text != "gemm")
      fail(LMF_ERR_UNSUPPORTED, where + ": \"version\" is " + version->dump() +
                                    "; lmforge reads AutoAWQ's \"gemm\" layout only");
  }
  auto group = format.find("group_size");
  if (group == format.end() || !group->is_number_integer() ||
      (group->get<int64_t>() != -1 && group->get<int64_t>() < 1))
    fail(LMF_ERR_INVALID_ARGUMENT,
         where + ": \"group_size\" must be -1 or a positive integer, got " +
             (group == format.end() ? std::string("nothing") : group->dump()));
  return group->get<int64_t>();
}


const AwqLayer& awq_layer(const sdk::QuantizedLayer& layer) {
  const auto* awq = dynamic_cast<const AwqLayer*>(&layer);
  if (awq == nullptr) fail(LMF_ERR_INVALID_ARGUMENT, "the layer was not made by the awq quantizer");
  return *awq;
}

// The dequantized weight [out, in] row-major (Note [AWQ CPU kernels]).
void dequantize_into(const QuantizedCodes& q, float* w) {
  const int64_t out = q.out_features, in = q.in_features, group = in / q.groups();
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) {
      const size_t cell = static_cast<size_t>((i / group) * out + o);
      const int32_t level =
          static_cast<int32_t>(q.codes[static_cast<size_t>(o * in + i)]) - q.zeros[cell];
      w[o * in + i] = q.scales[cell] * static_cast<float>(level);
    }
}

}  // namespace

Json awq_format(int64_t group_size) {
  return {{"format", "awq"},          {"version", "gemm"}, {"bits", 4},
          {"group_size", group_size}, {"sym", false},      {"zero_point", true}};
}

AwqLayer::AwqLayer(const AwqGemmTensors& packed, Json format)
    : QuantizedLayer(packed.out_features, packed.in_features, std::move(format)),
      codes_(unpack_awq_gemm(packed)) {
  const int64_t words = packed.out_features / 8;
  add_tensor("qweight", tensor_of(kInt32Type, {packed.in_features, words}, packed.qweight));
  add_tensor("qzeros", tensor_of(kInt32Type, {packed.groups, words}, packed.qzeros));
  add_tensor("scales", tensor_of(kFloat16Type, {packed.groups, packed.out_features}, packed.scales));
}

std::unique_ptr<AwqLayer> make_awq_layer(const QuantizedCodes& codes, const Json& extra,
                                         std::string_view layer) {
  Json format = awq_format(codes.group_size);
  format.update(extra);
  return std::make_unique<AwqLayer>(pack_awq_gemm(codes, layer), std::move(format));
}

std::unique_ptr<AwqLayer> import_awq_layer(std::span<const lmf_named_tensor> tensors,
                                           const Json& format) {
  const int64_t group_size = read_format(format);
  const std::map<std::string, const DLTensor*> named = named_tensors(
      tensors,
      {{"qweight", {kInt32Type, 2, true}},
       {"qzeros", {kInt32Type, 2, true}},
       {"scales", {kFloat16Type, 2, true}}},
      "an AWQ GEMM layer");
  const DLTensor& qweight = *named.at("qweight");
  const int64_t in = qweight.shape[0], words = qweight.shape[1], out = 8 * words;
  if (in <= 0 || words <= 0)
    fail(LMF_ERR_INVALID_ARGUMENT, "import_layer: tensor \"qweight\" is " +
                                       shape_text(shape_of(qweight)) +
                                       ", expected [in_features, out_features / 8], both positive");
  const int64_t group = group_size == -1 ? in : group_size;
  if (in % group != 0)
    fail(LMF_ERR_INVALID_ARGUMENT,
         "import_layer: format_json \"group_size\" " + std::to_string(group_size) +
             " does not divide in_features " + std::to_string(in) + " (tensor \"qweight\" " +
             shape_text(shape_of(qweight)) + ")");
  const int64_t groups = in / group;
  expect_shape(*named.at("qzeros"), "import_layer: tensor \"qzeros\"", {groups, words});
  expect_shape(*named.at("scales"), "import_layer: tensor \"scales\"", {groups, out});

  AwqGemmTensors packed;
  packed.group_size = group_size;
  packed.out_features = out;
  packed.in_features = in;
  packed.groups = groups;
  packed.qweight = values_of<int32_t>(qweight);
  packed.qzeros = values_of<int32_t>(*named.at("qzeros"));
  packed.scales = values_of<uint16_t>(*named.at("scales"));
  return std::make_unique<AwqLayer>(packed, format);
}

void dequantize_awq_layer(const sdk::QuantizedLayer& layer, DLTensor& weight) {
  const AwqLayer& awq = awq_layer(layer);
  TensorView(weight, "dequantize: weight").expect_cpu(kFloat32Type, 2);
  expect_shape(weight, "dequantize: weight", {layer.out_features(), layer.in_features()});
  dequantize_into(awq.codes(), TensorView(weight, "").data<float>());
}

void matmul_awq_layer(const sdk::QuantizedLayer& layer, const DLTensor& x, DLTensor& y) {
  const AwqLayer& awq = awq_layer(layer);
  TensorView in_view(x, "matmul: x");
  TensorView out_view(y, "matmul: y");
  in_view.expect_cpu(kFloat32Type, 2);
  out_view.expect_cpu(kFloat32Type, 2);
  const int64_t tokens = in_view.dim(0), in = layer.in_features(), out = layer.out_features();
  expect_shape(x, "matmul: x [tokens, in_features]", {tokens, in});
  expect_shape(y, "matmul: y [tokens, out_features]", {tokens, out});
  std::vector<float> w(static_cast<size_t>(out * in));
  dequantize_into(awq.codes(), w.data());
  const float* xs = in_view.data<float>();
  float* ys = out_view.data<float>();
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t o = 0; o < out; ++o) {
      float sum = 0.0f;
      const float* row = w.data() + o * in;
      const float* token = xs + t * in;
      for (int64_t i = 0; i < in; ++i) sum += token[i] * row[i];
      ys[t * out + o] = sum;
    }
}

}  // namespace lmf::quant::awq
