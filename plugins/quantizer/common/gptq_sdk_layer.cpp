#include "plugins/quantizer/common/gptq_sdk_layer.h"

#include "plugins/quantizer/common/gptq_device_layer.h"
#include "plugins/quantizer/common/gptq_kernels_cuda.h"
#include "plugins/quantizer/common/cuda_tensor_checks.h"
#include "plugins/quantizer/common/layer_tensors.h"

#include <map>
#include <vector>

namespace lmf::quant {
namespace {

using sdk::fail;
using sdk::Json;
using sdk::TensorView;

// The layout fields of an imported layer's format_json.
struct ImportFormat {
  int bits = 4;
  int64_t group_size = -1;
  bool sym = true, desc_act = false;
};

ImportFormat read_format(const Json& format) {
  const std::string where = "import_layer: format_json";
  if (!format.is_object()) fail(LMF_ERR_INVALID_ARGUMENT, where + " must be a JSON object");
  auto field = [&](const char* key, auto is_type, const char* type) -> const Json* {
    auto found = format.find(key);
    if (found == format.end()) return nullptr;
    if (!is_type(*found))
      fail(LMF_ERR_INVALID_ARGUMENT,
           where + ": \"" + key + "\" must be " + type + ", got " + found->dump());
    return &*found;
  };
  auto is_string = [](const Json& j) { return j.is_string(); };
  auto is_int = [](const Json& j) { return j.is_number_integer(); };
  auto is_bool = [](const Json& j) { return j.is_boolean(); };

  const Json* name = field("format", is_string, "a string");
  if (name == nullptr || *name != "gptq")
    fail(LMF_ERR_INVALID_ARGUMENT, where + ": \"format\" must be \"gptq\", got " +
                                       (name ? name->dump() : std::string("nothing")));
  if (const Json* checkpoint = field("checkpoint_format", is_string, "a string");
      checkpoint != nullptr && *checkpoint != "gptq")
    fail(LMF_ERR_INVALID_ARGUMENT,
         where + ": \"checkpoint_format\" is " + checkpoint->dump() +
             ", but only \"gptq\" (v1 zeros, Note [GPTQ v1 zeros]) is read");
  ImportFormat out;
  const Json* bits = field("bits", is_int, "an integer");
  const Json* group_size = field("group_size", is_int, "an integer");
  const Json* sym = field("sym", is_bool, "a boolean");
  if (bits == nullptr || group_size == nullptr || sym == nullptr)
    fail(LMF_ERR_INVALID_ARGUMENT,
         where + " needs \"bits\", \"group_size\" and \"sym\", got " + format.dump());
  out.bits = bits->get<int>();
  if (out.bits != 2 && out.bits != 3 && out.bits != 4 && out.bits != 8)
    fail(LMF_ERR_INVALID_ARGUMENT,
         where + ": \"bits\" is " + bits->dump() + ", but the GPTQ layout stores 2, 3, 4 or 8");
  out.group_size = group_size->get<int64_t>();
  out.sym = sym->get<bool>();
  if (const Json* desc_act = field("desc_act", is_bool, "a boolean")) out.desc_act = *desc_act;
  return out;
}


const GptqLayer& gptq_layer(const sdk::QuantizedLayer& layer) {
  const auto* gptq = dynamic_cast<const GptqLayer*>(&layer);
  if (gptq == nullptr)
    fail(LMF_ERR_INVALID_ARGUMENT, "the layer was not made by a GPTQ-format quantizer");
  return *gptq;
}

// Runs a kernel, turning its std::invalid_argument into a status with `op` in front.
template <class Body>
void run_kernel(const char* op, Body&& body) {
  try {
    body();
  } catch (const std::invalid_argument& e) {
    fail(LMF_ERR_INVALID_ARGUMENT, std::string(op) + ": " + e.what());
  }
}

}  // namespace

GptqLayer::~GptqLayer() = default;

GptqDeviceLayer& GptqLayer::on_device(int device, void* stream) const {
  std::lock_guard<std::mutex> lock(devices_mutex_);
  std::unique_ptr<GptqDeviceLayer>& copy = devices_[device];
  if (!copy) copy = std::make_unique<GptqDeviceLayer>(view_, device, stream);
  return *copy;
}

GptqLayer::GptqLayer(const GptqTensors& packed, Json format)
    : QuantizedLayer(packed.out_features, packed.in_features, std::move(format)) {
  const GptqShapes shapes =
      gptq_shapes(packed.bits, packed.out_features, packed.in_features, packed.groups);
  add_tensor("qweight", tensor_of(kInt32Type, shapes.qweight, packed.qweight));
  add_tensor("qzeros", tensor_of(kInt32Type, shapes.qzeros, packed.qzeros));
  add_tensor("scales", tensor_of(kFloat16Type, shapes.scales, packed.scales));
  add_tensor("g_idx", tensor_of(kInt32Type, shapes.g_idx, packed.g_idx));
  view_.bits = packed.bits;
  view_.out_features = packed.out_features;
  view_.in_features = packed.in_features;
  view_.groups = packed.groups;
  view_.qweight = tensor("qweight").data<int32_t>();
  view_.qzeros = tensor("qzeros").data<int32_t>();
  view_.scales = tensor("scales").data<uint16_t>();
  view_.g_idx = tensor("g_idx").data<int32_t>();
  view_.sequential_group_size =
      sequential_group_size(view_.g_idx, packed.in_features, packed.groups);
}

std::unique_ptr<GptqLayer> make_gptq_layer(const QuantizedCodes& codes, const Json& extra) {
  Json format = {{"format", "gptq"},
                 {"bits", codes.bits},
                 {"group_size", codes.group_size},
                 {"sym", codes.sym},
                 {"desc_act", codes.desc_act}};
  format.update(extra);
  return std::make_unique<GptqLayer>(pack_gptq(codes), std::move(format));
}

std::unique_ptr<GptqLayer> import_gptq_layer(std::span<const lmf_named_tensor> tensors,
                                             const Json& format) {
  const ImportFormat layout = read_format(format);
  const std::map<std::string, const DLTensor*> named = named_tensors(
      tensors,
      {{"qweight", {kInt32Type, 2, true}},
       {"qzeros", {kInt32Type, 2, true}},
       {"scales", {kFloat16Type, 2, true}},
       {"g_idx", {kInt32Type, 1, false}}},
      "a GPTQ layer");
  const DLTensor& qweight = *named.at("qweight");
  const int64_t out = qweight.shape[1];
  const int64_t multiple = gptq_pack_multiple(layout.bits);
  const int64_t words_per_bundle = layout.bits == 3 ? 3 : 1;
  if (qweight.shape[0] <= 0 || qweight.shape[0] % words_per_bundle != 0 || out <= 0 ||
      out % multiple != 0)
    fail(LMF_ERR_INVALID_ARGUMENT,
         "import_layer: tensor \"qweight\" is " + shape_text(shape_of(qweight)) + ", expected [" +
             (words_per_bundle > 1 ? "a positive multiple of 3" : std::string("rows > 0")) +
             ", out_features] with out_features a positive multiple of " +
             std::to_string(multiple) + " at " + std::to_string(layout.bits) + " bits");
  const int64_t in = qweight.shape[0] * 32 / layout.bits;
  int64_t groups = 0;
  try {
    groups = gptq_group_count(in, layout.group_size);
  } catch (const std::invalid_argument& e) {
    fail(LMF_ERR_INVALID_ARGUMENT,
         "import_layer: format_json and tensor \"qweight\" (in_features " + std::to_string(in) +
             "): " + e.what());
  }
  const GptqShapes shapes = gptq_shapes(layout.bits, out, in, groups);
  expect_shape(*named.at("qzeros"), "import_layer: tensor \"qzeros\"", shapes.qzeros);
  expect_shape(*named.at("scales"), "import_layer: tensor \"scales\"", shapes.scales);

  GptqTensors packed = gptq_tensors_for(layout.bits, layout.group_size, layout.sym, layout.desc_act,
                                        out, in, groups);
  packed.qweight = values_of<int32_t>(qweight);
  packed.qzeros = values_of<int32_t>(*named.at("qzeros"));
  packed.scales = values_of<uint16_t>(*named.at("scales"));
  if (auto g_idx = named.find("g_idx"); g_idx != named.end()) {
    expect_shape(*g_idx->second, "import_layer: tensor \"g_idx\"", shapes.g_idx);
    packed.g_idx = values_of<int32_t>(*g_idx->second);
    for (int64_t i = 0; i < in; ++i)
      if (packed.g_idx[static_cast<size_t>(i)] < 0 ||
          packed.g_idx[static_cast<size_t>(i)] >= groups)
        fail(LMF_ERR_INVALID_ARGUMENT,
             "import_layer: tensor \"g_idx\"[" + std::to_string(i) + "] is " +
                 std::to_string(packed.g_idx[static_cast<size_t>(i)]) +
                 ", expected a group in 0.." + std::to_string(groups - 1));
  } else if (layout.desc_act) {
    fail(LMF_ERR_INVALID_ARGUMENT,
         "import_layer: tensor \"g_idx\" is missing, and format_json says desc_act is true");
  } else {
    packed.g_idx.resize(static_cast<size_t>(in));
    for (int64_t i = 0; i < in; ++i)
      packed.g_idx[static_cast<size_t>(i)] = static_cast<int32_t>(i / (in / groups));
  }
  return std::make_unique<GptqLayer>(packed, format);
}

void dequantize_gptq_layer(const sdk::QuantizedLayer& layer, DLTensor& weight, void* stream) {
  const GptqLayer& gptq = gptq_layer(layer);
  if (on_cuda(weight)) {
    expect_cuda_kernels(gptq_cuda_kernels_compiled(), weight, "dequantize: weight", "the plugin");
    const DeviceDtype dtype = cuda_dtype(weight, "dequantize: weight", 2);
    expect_shape(weight, "dequantize: weight", {layer.out_features(), layer.in_features()});
    run_cuda("dequantize", [&] {
      gptq.on_device(weight.device.device_id, stream)
          .dequantize(dtype, TensorView(weight, "").data<void>(), stream);
    });
    return;
  }
  TensorView(weight, "dequantize: weight").expect_cpu(kFloat32Type, 2);
  expect_shape(weight, "dequantize: weight", {layer.out_features(), layer.in_features()});
  run_kernel("dequantize",
             [&] { gptq_dequantize(gptq.view(), TensorView(weight, "").data<float>()); });
}

namespace {

// x and y on one CUDA device (Note [GPTQ device layers]).
void matmul_gptq_layer_cuda(const GptqLayer& gptq, const DLTensor& x, DLTensor& y, void* stream) {
  const CudaMatmul call = check_cuda_matmul(x, y, gptq.in_features(), gptq.out_features(),
                                            gptq_cuda_kernels_compiled(), "the plugin");
  run_cuda("matmul", [&] {
    gptq.on_device(x.device.device_id, stream)
        .matmul(call.dtype, TensorView(x, "").data<void>(), call.tokens, call.dtype,
                TensorView(y, "").data<void>(), stream);
  });
}

}  // namespace

void matmul_gptq_layer(const sdk::QuantizedLayer& layer, const DLTensor& x, DLTensor& y,
                       void* stream) {
  const GptqLayer& gptq = gptq_layer(layer);
  if (on_cuda(x) || on_cuda(y)) {
    matmul_gptq_layer_cuda(gptq, x, y, stream);
    return;
  }
  TensorView in(x, "matmul: x");
  TensorView out(y, "matmul: y");
  in.expect_cpu(kFloat32Type, 2);
  out.expect_cpu(kFloat32Type, 2);
  const int64_t tokens = in.dim(0);
  expect_shape(x, "matmul: x [tokens, in_features]", {tokens, layer.in_features()});
  expect_shape(y, "matmul: y [tokens, out_features]", {tokens, layer.out_features()});
  run_kernel("matmul",
             [&] { gptq_matmul(gptq.view(), in.data<float>(), tokens, out.data<float>()); });
}

Json gptq_layer_devices() {
  return gptq_cuda_kernels_compiled() ? Json::array({"cpu", "cuda"}) : Json::array({"cpu"});
}

int64_t gptq_layer_matmul_tokens() {
  return kGptqMatvecMaxTokens;
}

}  // namespace lmf::quant
