// The int8_rtn quantizer: a complete lmforge plugin, written the way a vendor writes one,
// against the SDK headers only (README.md walks through it).
//
// What it does: symmetric int8 round-to-nearest with one scale per output channel.
// The layer it makes holds two tensors, "qweight" int8 [out, in] and "scales" float32 [out],
// and the layout {"format":"int8_rtn","bits":8,"group_size":-1,"sym":true}.
#include "int8_rtn_kernels.h"

#include <lmf/sdk/quantizer.h>

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using lmf::sdk::dtype_of;
using lmf::sdk::fail;
using lmf::sdk::Json;
using lmf::sdk::QuantizedLayer;
using lmf::sdk::TensorView;

// --- 1. What the component says about itself -----------------------------------------

// The configuration, as JSON Schema. The host validates every config against it and fills
// in "default" before `create`, so the constructor below always finds clip_ratio.
constexpr const char* kConfigSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "clip_ratio": {
      "type": "number",
      "exclusiveMinimum": 0,
      "maximum": 1,
      "default": 1.0,
      "description": "Each row's scale is clip_ratio * max|w| / 127; larger weights are clipped."
    }
  }
})";

// Every claim here is checked by the quantizer conformance suite (tests/conformance).
constexpr const char* kCapabilities = R"({
  "formats": ["int8_rtn"],
  "bits": [8],
  "group_sizes": [-1],
  "symmetric": [true],
  "needs_calibration": false,
  "devices": ["cpu"],
  "ops": ["dequantize", "matmul", "import_layer"]
})";

const Json& layer_format() {
  static const Json format = {
      {"format", "int8_rtn"}, {"bits", 8}, {"group_size", -1}, {"sym", true}};
  return format;
}

// --- 2. Small checks with messages that name what to fix --------------------------------

std::string shape_text(const DLTensor& tensor) {
  std::string text = "[";
  for (int i = 0; i < tensor.ndim; ++i) text += (i ? ", " : "") + std::to_string(tensor.shape[i]);
  return text + "]";
}

void expect_shape(const DLTensor& tensor, const std::string& name,
                  std::initializer_list<int64_t> shape) {
  bool same = tensor.ndim == static_cast<int>(shape.size());
  for (int i = 0; same && i < tensor.ndim; ++i) same = tensor.shape[i] == shape.begin()[i];
  if (same) return;
  std::string expected = "[";
  for (int64_t extent : shape)
    expected += (expected.size() > 1 ? ", " : "") + std::to_string(extent);
  fail(LMF_ERR_INVALID_ARGUMENT,
       name + ": expected shape " + expected + "], got " + shape_text(tensor));
}

// Checks the layout a checkpoint says its tensors have: only int8_rtn's own.
void expect_own_format(const Json& format) {
  const std::string where = "import_layer: format_json";
  if (!format.is_object()) fail(LMF_ERR_INVALID_ARGUMENT, where + " must be a JSON object");
  for (const auto& [key, expected] : layer_format().items()) {
    auto found = format.find(key);
    if (key == "format" && found == format.end())
      fail(LMF_ERR_INVALID_ARGUMENT, where + " has no \"format\" (expected \"int8_rtn\")");
    if (found != format.end() && *found != expected)
      fail(LMF_ERR_INVALID_ARGUMENT, where + ": \"" + key + "\" is " + found->dump() +
                                         ", but an int8_rtn layer has " + expected.dump());
  }
}

// A new layer with zero-filled "qweight" int8 [rows, cols] and "scales" float32 [rows].
// The tensors are allocated by the host, so the backend may keep copies of them safely.
std::unique_ptr<QuantizedLayer> new_layer(int64_t rows, int64_t cols) {
  auto layer = std::make_unique<QuantizedLayer>(rows, cols, layer_format());
  layer->add_tensor("qweight", lmf::sdk::make_cpu_tensor(dtype_of<int8_t>(), {rows, cols}));
  layer->add_tensor("scales", lmf::sdk::make_cpu_tensor(dtype_of<float>(), {rows}));
  return layer;
}

// --- 3. run_stage's test matrix ----------------------------------------------------------

// splitmix64 (Steele, Lea and Flood, 2014): tiny, fast and well mixed; the same seed gives
// the same matrix on every machine, so a pipeline's summary is reproducible.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [-1, 1): 24 random bits, each value exact in float.
  float uniform() { return static_cast<float>(next() >> 40) * 0x1.0p-23f - 1.0f; }

 private:
  uint64_t state_;
};

int64_t read_extent(const Json& params, const char* key, int64_t fallback) {
  auto found = params.find(key);
  if (found == params.end()) return fallback;
  if (!found->is_number_integer() || found->get<int64_t>() <= 0)
    fail(LMF_ERR_INVALID_ARGUMENT,
         std::string("params.") + key + ": expected a positive integer, got " + found->dump());
  return found->get<int64_t>();
}

// --- 4. The component --------------------------------------------------------------------

class Int8Rtn final : public lmf::sdk::Quantizer {
 public:
  explicit Int8Rtn(const Json& config) : clip_ratio_(config.value("clip_ratio", 1.0f)) {
    // The host validated the config already; this guards direct callers (and tests).
    if (!(clip_ratio_ > 0.0f && clip_ratio_ <= 1.0f))
      fail(LMF_ERR_INVALID_ARGUMENT,
           "clip_ratio must be in (0, 1], got " + std::to_string(clip_ratio_));
  }

  Json capabilities() override { return Json::parse(kCapabilities); }

  // No `observe`: round-to-nearest needs no calibration (the SDK's default answers
  // LMF_ERR_UNSUPPORTED), and capabilities say "needs_calibration": false.

  std::unique_ptr<QuantizedLayer> quantize(std::string_view layer,
                                           const DLTensor& weight) override {
    const std::string name = "weight of layer \"" + std::string(layer) + "\"";
    TensorView w(weight, name);
    w.expect_cpu(dtype_of<float>(), 2);
    const int64_t rows = w.dim(0), cols = w.dim(1);

    std::unique_ptr<QuantizedLayer> made = new_layer(rows, cols);
    try {
      int8_rtn::quantize(w.data<float>(), rows, cols, clip_ratio_,
                         made->tensor("qweight").data<int8_t>(),
                         made->tensor("scales").data<float>());
    } catch (const std::invalid_argument& e) {
      fail(LMF_ERR_INVALID_ARGUMENT, name + ": " + e.what());
    }
    return made;
  }

  // Rebuilds a layer from a checkpoint's tensors. They are borrowed: copy what to keep.
  std::unique_ptr<QuantizedLayer> import_layer(std::span<const lmf_named_tensor> tensors,
                                               const Json& format) override {
    expect_own_format(format);
    const DLTensor* qweight = nullptr;
    const DLTensor* scales = nullptr;
    for (const lmf_named_tensor& named : tensors) {
      const std::string name(lmf::sdk::from_view(named.name));
      const DLTensor** slot = name == "qweight" ? &qweight : name == "scales" ? &scales : nullptr;
      if (slot == nullptr)
        fail(LMF_ERR_INVALID_ARGUMENT, "import_layer: unexpected tensor \"" + name +
                                           "\" (an int8_rtn layer has \"qweight\" and \"scales\")");
      if (*slot != nullptr)
        fail(LMF_ERR_INVALID_ARGUMENT, "import_layer: tensor \"" + name + "\" is given twice");
      if (named.tensor == nullptr)
        fail(LMF_ERR_INVALID_ARGUMENT, "import_layer: tensor \"" + name + "\" is NULL");
      *slot = &named.tensor->dl_tensor;
    }
    for (auto [tensor, name] : {std::pair{qweight, "qweight"}, std::pair{scales, "scales"}})
      if (tensor == nullptr)
        fail(LMF_ERR_INVALID_ARGUMENT,
             std::string("import_layer: tensor \"") + name + "\" is missing");

    TensorView q(*qweight, "import_layer: tensor \"qweight\"");
    TensorView s(*scales, "import_layer: tensor \"scales\"");
    q.expect_cpu(dtype_of<int8_t>(), 2);
    s.expect_cpu(dtype_of<float>(), 1);
    const int64_t rows = q.dim(0), cols = q.dim(1);
    expect_shape(*scales, "import_layer: tensor \"scales\" (one scale per row of \"qweight\")",
                 {rows});

    std::unique_ptr<QuantizedLayer> made = new_layer(rows, cols);
    std::memcpy(made->tensor("qweight").data<int8_t>(), q.data<int8_t>(),
                static_cast<size_t>(rows * cols));
    std::memcpy(made->tensor("scales").data<float>(), s.data<float>(),
                static_cast<size_t>(rows) * sizeof(float));
    return made;
  }

  void dequantize(const QuantizedLayer& layer, DLTensor& weight,
                  void* /*stream: CPU only*/) override {
    const int64_t rows = layer.out_features(), cols = layer.in_features();
    TensorView w(weight, "dequantize: weight");
    w.expect_cpu(dtype_of<float>(), 2);
    expect_shape(weight, "dequantize: weight", {rows, cols});
    int8_rtn::dequantize(layer.tensor("qweight").data<int8_t>(),
                         layer.tensor("scales").data<float>(), rows, cols, w.data<float>());
  }

  void matmul(const QuantizedLayer& layer, const DLTensor& x, DLTensor& y,
              void* /*stream: CPU only*/) override {
    const int64_t rows = layer.out_features(), cols = layer.in_features();
    TensorView in(x, "matmul: x");
    TensorView out(y, "matmul: y");
    in.expect_cpu(dtype_of<float>(), 2);
    out.expect_cpu(dtype_of<float>(), 2);
    const int64_t tokens = in.dim(0);
    expect_shape(x, "matmul: x [tokens, in_features]", {tokens, cols});
    expect_shape(y, "matmul: y [tokens, out_features]", {tokens, rows});
    int8_rtn::matmul(in.data<float>(), tokens, layer.tensor("qweight").data<int8_t>(),
                     layer.tensor("scales").data<float>(), rows, cols, out.data<float>());
  }

  // As a pipeline stage: quantizes a reproducible random matrix and reports the error and
  // the memory saved, e.g. {"component":"int8_rtn","params":{"rows":256,"cols":1024}}.
  Json run_stage(const Json& stage) override {
    if (!stage.is_object()) fail(LMF_ERR_INVALID_ARGUMENT, "the stage must be a JSON object");
    const Json params = stage.value("params", Json::object());
    if (!params.is_object()) fail(LMF_ERR_INVALID_ARGUMENT, "params must be a JSON object");
    const int64_t rows = read_extent(params, "rows", 256);
    const int64_t cols = read_extent(params, "cols", 1024);
    constexpr int64_t kMaxElements = int64_t{1} << 26;
    if (rows > kMaxElements / cols)
      fail(LMF_ERR_INVALID_ARGUMENT, "params: rows * cols must be at most " +
                                         std::to_string(kMaxElements) + " for this demo");
    const Json seed = params.value("seed", Json(0));
    if (!seed.is_number_integer())
      fail(LMF_ERR_INVALID_ARGUMENT, "params.seed: expected an integer, got " + seed.dump());

    const size_t count = static_cast<size_t>(rows * cols);
    std::vector<float> w(count), w_hat(count), scales(static_cast<size_t>(rows));
    std::vector<int8_t> q(count);
    SplitMix64 random(seed.is_number_unsigned() ? seed.get<uint64_t>()
                                                : static_cast<uint64_t>(seed.get<int64_t>()));
    for (float& value : w) value = random.uniform();

    int8_rtn::quantize(w.data(), rows, cols, clip_ratio_, q.data(), scales.data());
    int8_rtn::dequantize(q.data(), scales.data(), rows, cols, w_hat.data());

    double max_abs_error = 0.0, error_squares = 0.0, weight_squares = 0.0;
    for (size_t i = 0; i < count; ++i) {
      const double error = static_cast<double>(w[i]) - w_hat[i];
      max_abs_error = std::max(max_abs_error, std::fabs(error));
      error_squares += error * error;
      weight_squares += static_cast<double>(w[i]) * w[i];
    }
    const double relative_error =
        weight_squares > 0.0 ? std::sqrt(error_squares / weight_squares) : 0.0;
    Json summary = {{"rows", rows},
                    {"cols", cols},
                    {"max_abs_error", max_abs_error},
                    {"relative_error", relative_error},
                    {"bytes_fp32", rows * cols * 4},
                    {"bytes_packed", rows * cols + rows * 4}};
    lmf::sdk::log_info("int8_rtn: quantized a " + std::to_string(rows) + "x" +
                       std::to_string(cols) + " matrix, relative error " +
                       std::to_string(relative_error));
    return summary;
  }

 private:
  float clip_ratio_;
};

}  // namespace

// --- 5. Registration: the plugin's one exported symbol, lmf_plugin_entry --------------------
LMF_PLUGIN("lmforge-example-int8-rtn", "0.1.0", "lmforge examples",
           "int8 round-to-nearest quantizer: the SDK's example plugin",
           lmf::sdk::component<Int8Rtn>(
               "int8_rtn", "int8 round-to-nearest, symmetric, one scale per output channel",
               kConfigSchema))
