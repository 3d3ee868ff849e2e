#include "tests/conformance/quantizer/quantizer_checks.h"

#include "core/config/schema.h"
#include "core/plugin/component_instance.h"
#include "core/plugin/host_api.h"
#include "core/plugin/status.h"
#include "tests/conformance/quantizer/error_bounds.h"
#include "tests/conformance/quantizer/error_feedback_checks.h"
#include "tests/conformance/quantizer/host_tensor.h"
#include "tests/conformance/quantizer/test_weights.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

namespace lmf::conformance {
namespace {

using nlohmann::json;
using plugin::ComponentInstance;
using plugin::ComponentRef;

constexpr double kFloat32Roundoff = 0x1.0p-24;
constexpr int64_t kTokens = 5;              // rows of x in the matmul checks
constexpr int64_t kCalibrationTokens = 32;  // rows of the inputs given to observe

const std::set<std::string, std::less<>> kKnownOps = {"dequantize", "matmul", "import_layer",
                                                      "search_input_scales"};

// The tensors each known format's layer must hold (a format_json may also list its own
// under "tensors"). The ABI does not say which tensors a format has; this table does.
const std::map<std::string, std::vector<std::string>, std::less<>> kFormatTensors = {
    {"int8_rtn", {"qweight", "scales"}},
    {"gptq", {"qweight", "qzeros", "scales"}},
    {"awq", {"qweight", "qzeros", "scales"}},
};

std::string shape_text(int64_t rows, int64_t cols) {
  return "[" + std::to_string(rows) + ", " + std::to_string(cols) + "]";
}

std::string number(double value) {
  std::ostringstream out;
  out.precision(6);
  out << value;
  return out.str();
}

// --- statuses ----------------------------------------------------------------------------

// What a call into the quantizer returned: the status, taken over and released.
struct Outcome {
  bool ok = true;
  lmf_status_code code = LMF_OK;
  std::string message;
  bool slot_null = false;  // the optional vtable slot was NULL

  std::string text() const {
    if (ok) return "success";
    if (slot_null) return "the vtable slot is NULL";
    return std::string(plugin::status_code_name(code)) + " (" + std::to_string(code) + "): \"" +
           message + "\"";
  }
};

Outcome take(lmf_status_t* status) {
  if (status == nullptr) return {};
  const lmf_host_api* api = plugin::host_api();
  const char* message = api->status_message(status);
  Outcome outcome{false, api->status_code(status), message == nullptr ? "" : message};
  api->status_release(status);
  return outcome;
}

// --- capabilities ------------------------------------------------------------------------

struct Capabilities {
  std::vector<std::string> formats, devices, ops;
  std::vector<int64_t> bits, group_sizes;
  std::vector<bool> symmetric;
  bool needs_calibration = false;

  bool claims(std::string_view op) const {
    return std::find(ops.begin(), ops.end(), op) != ops.end();
  }
};

template <class T>
bool contains(const std::vector<T>& list, const T& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Reads capabilities() JSON, adding one line per problem to `problems`.
std::optional<Capabilities> parse_capabilities(const json& caps, Failures& problems) {
  const size_t before = problems.size();
  if (!caps.is_object()) {
    problems.push_back("capabilities() is not a JSON object: " + caps.dump());
    return std::nullopt;
  }
  Capabilities out;
  // A non-empty array of `kind` values, each passing `valid`.
  auto list = [&](const char* field, const char* kind, auto is_type, auto valid, auto& into) {
    auto found = caps.find(field);
    if (found == caps.end()) {
      problems.push_back(std::string("capabilities() has no \"") + field + "\"");
      return;
    }
    if (!found->is_array() || found->empty()) {
      problems.push_back(std::string("capabilities() \"") + field +
                         "\" must be a non-empty array of " + kind + ", got " + found->dump());
      return;
    }
    for (const json& item : *found) {
      if (!is_type(item) || !valid(item)) {
        problems.push_back(std::string("capabilities() \"") + field + "\": " + item.dump() +
                           " is not a valid " + kind);
        continue;
      }
      into.push_back(item.get<typename std::decay_t<decltype(into)>::value_type>());
    }
  };
  auto is_string = [](const json& j) { return j.is_string(); };
  auto is_int = [](const json& j) { return j.is_number_integer(); };
  auto is_bool = [](const json& j) { return j.is_boolean(); };
  auto any = [](const json&) { return true; };
  auto non_empty = [](const json& j) { return !j.get<std::string>().empty(); };

  list("formats", "format name (string)", is_string, non_empty, out.formats);
  list(
      "bits", "bit width (integer 1..32)", is_int,
      [](const json& j) { return j.get<int64_t>() >= 1 && j.get<int64_t>() <= 32; }, out.bits);
  list(
      "group_sizes", "group size (integer, -1 or positive)", is_int,
      [](const json& j) { return j.get<int64_t>() == -1 || j.get<int64_t>() > 0; },
      out.group_sizes);
  list("symmetric", "boolean", is_bool, any, out.symmetric);
  list("devices", "device name (string)", is_string, non_empty, out.devices);
  // "ops" may be empty (a quantizer that only packs weights), but each must be known.
  if (auto found = caps.find("ops"); found == caps.end() || !found->is_array()) {
    problems.push_back("capabilities() \"ops\" must be an array of op names");
  } else {
    for (const json& op : *found) {
      if (!op.is_string() || !kKnownOps.contains(op.get<std::string>()))
        problems.push_back("capabilities() \"ops\": " + op.dump() +
                           " is not an op the ABI defines (dequantize, matmul, import_layer, "
                           "search_input_scales)");
      else
        out.ops.push_back(op.get<std::string>());
    }
  }
  if (auto found = caps.find("needs_calibration"); found == caps.end() || !found->is_boolean())
    problems.push_back("capabilities() \"needs_calibration\" must be a boolean");
  else
    out.needs_calibration = found->get<bool>();
  if (problems.size() != before) return std::nullopt;
  return out;
}

// --- the instance under test -------------------------------------------------------------

struct LayerRelease {
  const lmf_quantizer_vtable* vtable = nullptr;
  lmf_instance_t* instance = nullptr;
  void operator()(lmf_quantized_layer* layer) const {
    if (layer != nullptr) vtable->release_layer(instance, layer);
  }
};
using LayerPtr = std::unique_ptr<lmf_quantized_layer, LayerRelease>;

// One instance made with the default config, its vtable and capabilities; every call goes
// through the C vtable and comes back as an Outcome. Failures are added to `failures`.
class Session {
 public:
  Session(const ComponentRef& ref, Failures& failures) : failures_(failures) {
    json schema = json::parse(ref.schema(), nullptr, false);
    json config = json::object();
    for (const config::ValidationIssue& issue : config::validate(schema, config))
      fail("the config schema does not accept {} (the suite runs the default config): " +
           (issue.pointer.empty() ? "" : issue.pointer + ": ") + issue.message);
    if (!failures_.empty()) return;
    try {
      instance_ = std::make_unique<ComponentInstance>(ref, config);
      vtable_ = &instance_->vtable<lmf_quantizer_vtable>(LMF_KIND_QUANTIZER);
    } catch (const std::exception& e) {
      fail(std::string("create with the default config ") + config.dump() + " failed: " + e.what());
      return;
    }
    lmf_string text{nullptr, 0};
    Outcome outcome = call([&] { return vtable_->capabilities(instance_->get(), &text); });
    if (!outcome.ok) {
      capability_problems_.push_back("capabilities() failed: " + outcome.text());
      return;
    }
    if (text.data == nullptr) {
      capability_problems_.push_back("capabilities() succeeded but returned no text");
      return;
    }
    if (text.data[text.size] != '\0')
      capability_problems_.push_back("capabilities() text is not NUL-terminated at data[size]");
    json parsed = json::parse(text.data, text.data + text.size, nullptr, false);
    plugin::host_api()->free(text.data);
    if (parsed.is_discarded()) {
      capability_problems_.push_back("capabilities() did not return valid JSON");
      return;
    }
    caps_ = parse_capabilities(parsed, capability_problems_);
  }
  ~Session() = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  bool created() const { return vtable_ != nullptr; }
  const Failures& capability_problems() const { return capability_problems_; }
  // Created, with usable capabilities; else says why once.
  bool ready() {
    if (!created()) return false;
    if (!caps_) {
      fail("capabilities() is unusable, so no layer was checked (" +
           (capability_problems_.empty() ? std::string("?") : capability_problems_.front()) + ")");
      return false;
    }
    return true;
  }
  const Capabilities& caps() const { return *caps_; }

  void fail(std::string message) {
    if (!contains(failures_, message)) failures_.push_back(std::move(message));
  }

  // Runs `body` (a vtable call returning lmf_status_t*), turning a C++ exception that
  // escaped through the C ABI into a failure.
  template <class Body>
  Outcome call(Body&& body) {
    try {
      return take(body());
    } catch (...) {
      fail("a call threw a C++ exception through the C ABI");
      return Outcome{false, LMF_ERR_INTERNAL, "exception", false};
    }
  }

  Outcome observe(const std::string& layer, const DLTensor& inputs) {
    if (vtable_->observe == nullptr) return Outcome{false, LMF_ERR_UNSUPPORTED, "", true};
    return call([&] { return vtable_->observe(instance_->get(), view(layer), &inputs); });
  }

  // On failure, checks that `*out` was left untouched (Note [Ownership] in lmf_types.h).
  Outcome quantize(const std::string& layer, const DLTensor& weight, LayerPtr* out) {
    lmf_quantized_layer* made = nullptr;
    Outcome outcome =
        call([&] { return vtable_->quantize(instance_->get(), view(layer), &weight, &made); });
    adopt(outcome, made, "quantize", out);
    return outcome;
  }

  Outcome import_layer(const std::vector<lmf_named_tensor>& tensors, std::string_view format,
                       LayerPtr* out) {
    if (vtable_->import_layer == nullptr) return Outcome{false, LMF_ERR_UNSUPPORTED, "", true};
    lmf_quantized_layer* made = nullptr;
    Outcome outcome = call([&] {
      return vtable_->import_layer(instance_->get(), tensors.data(), tensors.size(), view(format),
                                   &made);
    });
    adopt(outcome, made, "import_layer", out);
    return outcome;
  }

  // Since ABI 1.1: a slot the plugin's vtable does not hold reads as NULL.
  Outcome search_input_scales(const std::string& layer, const DLTensor& weight,
                              DLManagedTensor** scales) {
    if (!LMF_HAS_MEMBER(vtable_, lmf_quantizer_vtable, search_input_scales) ||
        vtable_->search_input_scales == nullptr)
      return Outcome{false, LMF_ERR_UNSUPPORTED, "", true};
    const lmf_str_view name = view(layer);
    const DLTensor* weights[] = {&weight};
    return call(
        [&] { return vtable_->search_input_scales(instance_->get(), &name, weights, 1, scales); });
  }

  Outcome dequantize(const lmf_quantized_layer* layer, DLTensor& weight) {
    return call([&] { return vtable_->dequantize(instance_->get(), layer, &weight, nullptr); });
  }

  Outcome matmul(const lmf_quantized_layer* layer, const DLTensor& x, DLTensor& y) {
    return call([&] { return vtable_->matmul(instance_->get(), layer, &x, &y, nullptr); });
  }

  // Checks that an op the capabilities do not list answers LMF_ERR_UNSUPPORTED.
  void expect_unsupported(const std::string& where, const char* op, const Outcome& outcome) {
    if (outcome.slot_null || (!outcome.ok && outcome.code == LMF_ERR_UNSUPPORTED)) return;
    fail(where + op + " is not in capabilities' ops, so it must answer LMF_ERR_UNSUPPORTED; got " +
         outcome.text());
  }

 private:
  static lmf_str_view view(std::string_view text) { return {text.data(), text.size()}; }

  void adopt(const Outcome& outcome, lmf_quantized_layer* made, const char* op, LayerPtr* out) {
    LayerPtr layer(made, LayerRelease{vtable_, instance_->get()});
    if (outcome.ok && made == nullptr) {
      fail(std::string(op) + " succeeded but returned no layer");
    } else if (!outcome.ok && made != nullptr) {
      fail(std::string(op) + " failed (" + outcome.text() +
           ") but wrote a layer to its output (a failed call must leave outputs untouched)");
      layer.reset();
    }
    *out = std::move(layer);
  }

  Failures& failures_;
  std::unique_ptr<ComponentInstance> instance_;
  const lmf_quantizer_vtable* vtable_ = nullptr;
  Failures capability_problems_;
  std::optional<Capabilities> caps_;
};

// --- layer checks ------------------------------------------------------------------------

const lmf_named_tensor* find_tensor(const lmf_quantized_layer& layer, std::string_view name) {
  for (size_t i = 0; i < layer.tensor_count; ++i)
    if (std::string_view(layer.tensors[i].name.data, layer.tensors[i].name.size) == name)
      return &layer.tensors[i];
  return nullptr;
}

// The struct, its tensors and its format; returns the parsed format_json (null if unusable).
json check_layer_shape(Session& s, const std::string& where, const lmf_quantized_layer& layer,
                       const Matrix& w) {
  // LMF_HAS_MEMBER without its NULL test: `layer` is a reference.
  if (layer.struct_size < offsetof(lmf_quantized_layer, format_json) + sizeof(layer.format_json)) {
    s.fail(where + "quantize returned a layer whose struct_size " +
           std::to_string(layer.struct_size) + " is smaller than ABI 1.0's");
    return nullptr;
  }
  if (layer.out_features != w.rows || layer.in_features != w.cols)
    s.fail(where + "the layer says [out_features, in_features] = " +
           shape_text(layer.out_features, layer.in_features) + ", the weight was " +
           shape_text(w.rows, w.cols));
  if (layer.tensor_count == 0 || layer.tensors == nullptr)
    s.fail(where + "the layer has no tensors");
  std::set<std::string, std::less<>> names;
  for (size_t i = 0; i < layer.tensor_count && layer.tensors != nullptr; ++i) {
    const lmf_named_tensor& named = layer.tensors[i];
    const std::string name =
        named.name.data == nullptr ? "" : std::string(named.name.data, named.name.size);
    if (name.empty()) s.fail(where + "layer tensor #" + std::to_string(i) + " has no name");
    if (!names.insert(name).second) s.fail(where + "layer tensor \"" + name + "\" appears twice");
    if (named.tensor == nullptr) {
      s.fail(where + "layer tensor \"" + name + "\" is NULL");
      continue;
    }
    const DLTensor& t = named.tensor->dl_tensor;
    if (t.ndim < 0 || (t.ndim > 0 && t.shape == nullptr))
      s.fail(where + "layer tensor \"" + name + "\" has a bad rank or a NULL shape");
    else if (t.data == nullptr && HostTensor::numel_of(t) > 0)
      s.fail(where + "layer tensor \"" + name + "\" has no data");
  }

  const std::string text = layer.format_json.data == nullptr
                               ? std::string()
                               : std::string(layer.format_json.data, layer.format_json.size);
  json format = json::parse(text, nullptr, false);
  if (format.is_discarded() || !format.is_object()) {
    s.fail(where + "format_json is not a JSON object: '" + text + "'");
    return nullptr;
  }
  // The layout must be one the capabilities claim.
  const Capabilities& caps = s.caps();
  auto name_it = format.find("format");
  if (name_it == format.end() || !name_it->is_string())
    s.fail("format_json has no \"format\" name: " + text);
  else if (!contains(caps.formats, name_it->get<std::string>()))
    s.fail("format_json names format " + name_it->dump() +
           ", which capabilities' formats do not list");
  if (auto bits = format.find("bits"); bits != format.end())
    if (!bits->is_number_integer() || !contains(caps.bits, bits->get<int64_t>()))
      s.fail("format_json \"bits\" " + bits->dump() + " is not among capabilities' bits");
  if (auto group = format.find("group_size"); group != format.end())
    if (!group->is_number_integer() || !contains(caps.group_sizes, group->get<int64_t>()))
      s.fail("format_json \"group_size\" " + group->dump() +
             " is not among capabilities' group_sizes");
  if (auto sym = format.find("sym"); sym != format.end())
    if (!sym->is_boolean() || !contains(caps.symmetric, sym->get<bool>()))
      s.fail("format_json \"sym\" " + sym->dump() + " is not among capabilities' symmetric");

  // The tensors the format has.
  std::vector<std::string> expected;
  if (name_it != format.end() && name_it->is_string())
    if (auto known = kFormatTensors.find(name_it->get<std::string>());
        known != kFormatTensors.end())
      expected = known->second;
  if (auto listed = format.find("tensors"); listed != format.end()) {
    if (!listed->is_array()) s.fail("format_json \"tensors\" must be an array of tensor names");
    for (const json& name : *listed)
      if (name.is_string()) expected.push_back(name.get<std::string>());
  }
  for (const std::string& name : expected)
    if (!names.contains(name))
      s.fail(where + "the layer has no tensor \"" + name + "\", which its format " +
             (name_it != format.end() ? name_it->dump() : std::string("?")) + " has");
  return format;
}

// The dtype of the stored scales, for the bound's eps.
DLDataType scale_dtype(const lmf_quantized_layer& layer) {
  for (const char* name : {"scales", "absmax"})
    if (const lmf_named_tensor* found = find_tensor(layer, name); found && found->tensor)
      return found->tensor->dl_tensor.dtype;
  return float32_type();
}

// The worst element of a comparison, for messages.
struct Worst {
  int64_t count = 0, row = -1, col = -1;
  double got = 0, want = 0, allowed = 0, excess = -1;

  void see(int64_t r, int64_t c, double got_value, double want_value, double allowed_value) {
    const double error = std::fabs(got_value - want_value);
    if (!(error <= allowed_value)) {  // NaN counts as a violation
      ++count;
      const double over = std::isnan(error) ? INFINITY : error - allowed_value;
      if (over > excess) {
        excess = over, row = r, col = c, got = got_value, want = want_value,
        allowed = allowed_value;
      }
    }
  }
  std::string text(int64_t total, const char* got_name, const char* want_name) const {
    return std::to_string(count) + " of " + std::to_string(total) + " elements; worst at [" +
           std::to_string(row) + ", " + std::to_string(col) + "]: " + got_name + " = " +
           number(got) + ", " + want_name + " = " + number(want) +
           ", |difference| = " + number(std::fabs(got - want)) + " > allowed " + number(allowed);
  }
};

// Exports the layer's tensors (CPU copies, as a checkpoint writer would), imports them
// back, and checks the new layer computes exactly what the original does.
void check_import_round_trip(Session& s, const std::string& where, const lmf_quantized_layer& layer,
                             const HostTensor* w_hat, const HostTensor* y, const HostTensor& x) {
  std::vector<HostTensor> copies;
  std::vector<std::string> names;
  for (size_t i = 0; i < layer.tensor_count; ++i) {
    const lmf_named_tensor& named = layer.tensors[i];
    if (named.tensor == nullptr) return;  // reported by check_layer_shape
    const DLTensor& t = named.tensor->dl_tensor;
    names.emplace_back(named.name.data, named.name.size);
    if (t.device.device_type != kDLCPU || !HostTensor::compact(t)) {
      s.fail(where + "import_layer round trip: layer tensor \"" + names.back() +
             "\" is not a compact CPU tensor, so the suite cannot export it");
      return;
    }
    copies.emplace_back(t.dtype, std::vector<int64_t>(t.shape, t.shape + t.ndim));
    std::memcpy(copies.back().data<char>(), static_cast<const char*>(t.data) + t.byte_offset,
                copies.back().bytes());
  }
  std::vector<lmf_named_tensor> exported;
  for (size_t i = 0; i < copies.size(); ++i)
    exported.push_back({{names[i].data(), names[i].size()}, copies[i].managed()});
  const std::string format(layer.format_json.data, layer.format_json.size);

  LayerPtr imported;
  Outcome outcome = s.import_layer(exported, format, &imported);
  if (!outcome.ok) {
    s.fail(where +
           "import_layer (claimed in ops) failed on the layer's own tensors: " + outcome.text());
    return;
  }
  if (!imported) return;
  // The tensors were borrowed for the call only: scribble over them, so that a layer that
  // kept pointers instead of copying computes garbage below.
  for (HostTensor& copy : copies) copy.fill_bytes(0x5a);

  if (imported->out_features != layer.out_features || imported->in_features != layer.in_features)
    s.fail(where + "import_layer made a layer of " +
           shape_text(imported->out_features, imported->in_features) + " from one of " +
           shape_text(layer.out_features, layer.in_features));
  if (w_hat != nullptr) {
    HostTensor again(float32_type(), {layer.out_features, layer.in_features});
    again.fill_bytes(0xff);
    Outcome d = s.dequantize(imported.get(), again.dl());
    if (!d.ok)
      s.fail(where + "dequantize of the imported layer failed: " + d.text());
    else if (std::memcmp(again.data<char>(), w_hat->data<char>(), w_hat->bytes()) != 0)
      s.fail(where +
             "import_layer round trip: the imported layer dequantizes differently from "
             "the original (export -> import must be lossless)");
  } else if (y != nullptr) {
    HostTensor again(float32_type(), {kTokens, layer.out_features});
    again.fill_bytes(0xff);
    Outcome m = s.matmul(imported.get(), x.dl(), again.dl());
    if (!m.ok)
      s.fail(where + "matmul with the imported layer failed: " + m.text());
    else if (std::memcmp(again.data<char>(), y->data<char>(), y->bytes()) != 0)
      s.fail(where +
             "import_layer round trip: matmul with the imported layer differs from "
             "the original (export -> import must be lossless)");
  }
}

// Whether a quantizer may refuse this shape: only one whose claims involve packing (fewer
// than 8 bits) or groups, and only for extents that are not multiples of 8 or of a group.
bool may_refuse_shape(const Capabilities& caps, int64_t rows, int64_t cols) {
  bool packs_or_groups = false, aligned = rows % 8 == 0 && cols % 8 == 0;
  for (int64_t bits : caps.bits) packs_or_groups = packs_or_groups || bits < 8;
  for (int64_t group : caps.group_sizes) {
    packs_or_groups = packs_or_groups || group > 0;
    aligned = aligned && (group <= 0 || cols % group == 0);
  }
  return packs_or_groups && !aligned;
}

// Note [Error feedback checks]: ŵ on the layer's grid, and on the calibration inputs an
// output error below round-to-nearest's at the same bits, group size and symmetry.
void check_error_feedback(Session& s, const std::string& where, const lmf_quantized_layer& layer,
                          const json& format, const Matrix& w, const Matrix& calibration,
                          const HostTensor& w_hat) {
  const std::string method = "\"method\": " + format.at("method").dump();
  if (const std::string off = off_grid(layer, format, w_hat.data<float>()); !off.empty())
    s.fail(where + "dequantized weight off its grid (" + method + "): " + off);
  const int bits = format.value("bits", 0);
  if (!s.caps().needs_calibration || bits < 1 || bits > 16) return;
  const Matrix rtn =
      round_to_nearest(w, bits, format.value("group_size", int64_t{-1}), format.value("sym", true));
  const double error = output_error(calibration, w, w_hat.data<float>());
  const double rtn_error = output_error(calibration, w, rtn.values.data());
  if (!(error < rtn_error) && rtn_error > 0.0)
    s.fail(where + "layer output error on the calibration inputs, ||X (W - w_hat)^T|| = " +
           number(error) + ", is not below round-to-nearest's " + number(rtn_error) +
           " at the same bits, group size and symmetry (" + method + ")");
}

// Quantizes one weight case and checks everything computed from the layer.
bool check_case(Session& s, const WeightCase& c, uint64_t seed) {
  const Capabilities& caps = s.caps();
  const Matrix& w = c.weight;
  const std::string where = "[" + c.name + "] ";
  const std::string layer_name = "conformance.case" + std::to_string(seed);

  const Matrix calibration = activations(kCalibrationTokens, w.cols, seed + 1000);
  if (caps.needs_calibration) {
    HostTensor inputs = float_tensor({calibration.rows, calibration.cols}, calibration.values);
    Outcome observed = s.observe(layer_name, inputs.dl());
    if (!observed.ok) {
      s.fail(where + "needs_calibration is true, but observe failed: " + observed.text());
      return false;
    }
  }

  HostTensor weight = float_tensor({w.rows, w.cols}, w.values);
  LayerPtr layer;
  Outcome quantized = s.quantize(layer_name, weight.dl(), &layer);
  if (!quantized.ok) {
    const bool clear_refusal =
        (quantized.code == LMF_ERR_INVALID_ARGUMENT || quantized.code == LMF_ERR_UNSUPPORTED) &&
        !quantized.message.empty();
    if (!(clear_refusal && may_refuse_shape(caps, w.rows, w.cols)))
      s.fail(where + "quantize failed" +
             (caps.needs_calibration ? std::string(" after observe")
                                     : std::string(" without observe")) +
             ": " + quantized.text());
    return false;
  }
  if (!layer) return false;

  json format = check_layer_shape(s, where, *layer, w);
  std::string problem;
  std::optional<ElementBounds> bounds;
  const bool error_feedback = uses_error_feedback(format);  // Note [Error feedback checks]
  if (!format.is_null() && !error_feedback) {
    bounds = error_bounds(format, w, scale_dtype(*layer), &problem);
    if (!bounds) s.fail(problem);
  }

  // dequantize: into a tensor full of NaN, so unwritten elements show.
  std::optional<HostTensor> w_hat;
  {
    HostTensor out(float32_type(), {w.rows, w.cols});
    out.fill_bytes(0xff);
    Outcome d = s.dequantize(layer.get(), out.dl());
    if (!caps.claims("dequantize")) {
      s.expect_unsupported(where, "dequantize", d);
    } else if (!d.ok) {
      s.fail(where + "dequantize failed: " + d.text());
    } else {
      w_hat = std::move(out);
      if (bounds) {
        Worst worst;
        const float* got = w_hat->data<float>();
        for (int64_t r = 0; r < w.rows; ++r)
          for (int64_t col = 0; col < w.cols; ++col) {
            const size_t i = static_cast<size_t>(r * w.cols + col);
            worst.see(r, col, got[i], w.values[i], bounds->bound[i]);
          }
        if (worst.count > 0)
          s.fail(where + "dequantized weight outside the error bound of its format_json (" +
                 bounds->description + "): " + worst.text(w.rows * w.cols, "w_hat", "w"));
      }
      if (error_feedback) check_error_feedback(s, where, *layer, format, w, calibration, *w_hat);
    }
  }

  // matmul: y against x·ŵᵀ (float tolerance) and against x·Wᵀ (the weight error bound).
  Matrix x = activations(kTokens, w.cols, seed + 2000);
  HostTensor x_tensor = float_tensor({kTokens, w.cols}, x.values);
  std::optional<HostTensor> y;
  {
    HostTensor out(float32_type(), {kTokens, w.rows});
    out.fill_bytes(0xff);
    Outcome m = s.matmul(layer.get(), x_tensor.dl(), out.dl());
    if (!caps.claims("matmul")) {
      s.expect_unsupported(where, "matmul", m);
    } else if (!m.ok) {
      s.fail(where + "matmul failed: " + m.text());
    } else {
      y = std::move(out);
      const float* got = y->data<float>();
      const float* w_hat_values = w_hat ? w_hat->data<float>() : nullptr;
      // Summation in float may lose up to ~n·u of the sum of magnitudes (n = in_features).
      const double float_slack = 2.0 * static_cast<double>(w.cols) * kFloat32Roundoff;
      Worst versus_w_hat, versus_w;
      for (int64_t t = 0; t < kTokens; ++t)
        for (int64_t o = 0; o < w.rows; ++o) {
          double exact_hat = 0, magnitude_hat = 0, exact = 0, allowed = 0, magnitude = 0;
          for (int64_t i = 0; i < w.cols; ++i) {
            const double xi = x.at(t, i);
            const size_t wi = static_cast<size_t>(o * w.cols + i);
            if (w_hat_values != nullptr) {
              exact_hat += xi * w_hat_values[wi];
              magnitude_hat += std::fabs(xi * w_hat_values[wi]);
            }
            exact += xi * w.values[wi];
            if (bounds) {
              allowed += std::fabs(xi) * bounds->bound[wi];
              magnitude += std::fabs(xi) * (std::fabs(w.values[wi]) + bounds->bound[wi]);
            }
          }
          const double value = got[t * w.rows + o];
          if (w_hat_values != nullptr)
            versus_w_hat.see(t, o, value, exact_hat, magnitude_hat * float_slack + 1e-12);
          if (bounds) versus_w.see(t, o, value, exact, allowed + magnitude * float_slack + 1e-12);
        }
      if (versus_w_hat.count > 0)
        s.fail(where + "matmul differs from x · dequantized(W)^T beyond float rounding: " +
               versus_w_hat.text(kTokens * w.rows, "y", "x·w_hat^T"));
      if (versus_w.count > 0)
        s.fail(where +
               "matmul differs from x · W^T beyond the bound derived from the weight "
               "error bound (sum_i |x_i| * bound_i, " +
               bounds->description + "): " + versus_w.text(kTokens * w.rows, "y", "x·W^T"));
    }
  }

  // import_layer: a lossless round trip when claimed, LMF_ERR_UNSUPPORTED when not.
  if (caps.claims("import_layer")) {
    check_import_round_trip(s, where, *layer, w_hat ? &*w_hat : nullptr, y ? &*y : nullptr,
                            x_tensor);
  } else {
    std::vector<lmf_named_tensor> own(layer->tensors, layer->tensors + layer->tensor_count);
    LayerPtr imported;
    s.expect_unsupported(
        where, "import_layer",
        s.import_layer(own, std::string_view(layer->format_json.data, layer->format_json.size),
                       &imported));
  }
  return true;
}

void delete_managed(DLManagedTensor* tensor) {
  if (tensor->deleter != nullptr) tensor->deleter(tensor);
}

// Note [Input scale checks]: a quantizer claiming "search_input_scales" returns, for an
// observed layer, a float32 [in] tensor of finite positive scales s; quantizing W·diag(s)
// and dividing the dequantized columns by s again (what the model computes once 1/s is
// folded into the input's producer) must lose less on the calibration inputs than
// round-to-nearest of W at the same bits, group size and symmetry — what the scales are
// for. A failed call leaves its output untouched. A quantizer not claiming the op answers
// LMF_ERR_UNSUPPORTED.
void check_input_scales(Session& s) {
  const WeightCase c{"trained-like 64x256 seed 21", trained_like_weight(64, 256, 21)};
  const Matrix& w = c.weight;
  const std::string where = "[" + c.name + ", search_input_scales] ";
  const std::string layer_name = "conformance.input_scales";
  const Matrix calibration = activations(4 * kCalibrationTokens, w.cols, 2100);
  HostTensor weight = float_tensor({w.rows, w.cols}, w.values);

  DLManagedTensor* sentinel = reinterpret_cast<DLManagedTensor*>(uintptr_t{0x5a5a});
  DLManagedTensor* scales = sentinel;
  if (!s.caps().claims("search_input_scales")) {
    s.expect_unsupported(where, "search_input_scales",
                         s.search_input_scales(layer_name, weight.dl(), &scales));
    return;
  }
  // Before observe: an error, and the output left as it was.
  Outcome early = s.search_input_scales("conformance.never_observed", weight.dl(), &scales);
  if (early.ok || scales != sentinel)
    s.fail(where +
           "search_input_scales of a layer never observed must fail and leave its output "
           "untouched; got " +
           early.text());
  if (early.ok && scales != sentinel && scales != nullptr && scales->deleter)
    scales->deleter(scales);

  HostTensor inputs = float_tensor({calibration.rows, calibration.cols}, calibration.values);
  if (Outcome observed = s.observe(layer_name, inputs.dl()); !observed.ok) {
    s.fail(where + "observe failed: " + observed.text());
    return;
  }
  scales = nullptr;
  Outcome found = s.search_input_scales(layer_name, weight.dl(), &scales);
  if (!found.ok || scales == nullptr) {
    s.fail(where + "search_input_scales (claimed in ops) failed: " + found.text());
    return;
  }
  std::unique_ptr<DLManagedTensor, void (*)(DLManagedTensor*)> owned(scales, &delete_managed);
  const DLTensor& t = scales->dl_tensor;
  if (t.device.device_type != kDLCPU || t.dtype.code != kDLFloat || t.dtype.bits != 32 ||
      t.dtype.lanes != 1 || t.ndim != 1 || t.shape[0] != w.cols || !HostTensor::compact(t)) {
    s.fail(where + "the scales must be a compact float32 CPU tensor [" + std::to_string(w.cols) +
           "]");
    return;
  }
  const float* values =
      reinterpret_cast<const float*>(static_cast<const char*>(t.data) + t.byte_offset);
  std::vector<float> scaled = w.values;
  for (int64_t col = 0; col < w.cols; ++col) {
    if (!(std::isfinite(values[col]) && values[col] > 0.0f)) {
      s.fail(where + "scale[" + std::to_string(col) + "] = " + number(values[col]) +
             " is not finite and positive");
      return;
    }
    for (int64_t r = 0; r < w.rows; ++r)
      scaled[static_cast<size_t>(r * w.cols + col)] *= values[col];
  }
  HostTensor scaled_weight = float_tensor({w.rows, w.cols}, scaled);
  LayerPtr layer;
  if (Outcome q = s.quantize(layer_name, scaled_weight.dl(), &layer); !q.ok || !layer) {
    s.fail(where + "quantize of the scaled weight failed: " + q.text());
    return;
  }
  if (!s.caps().claims("dequantize")) return;
  HostTensor w_hat(float32_type(), {w.rows, w.cols});
  if (Outcome d = s.dequantize(layer.get(), w_hat.dl()); !d.ok) {
    s.fail(where + "dequantize failed: " + d.text());
    return;
  }
  float* unscaled = w_hat.data<float>();
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t col = 0; col < w.cols; ++col) unscaled[r * w.cols + col] /= values[col];
  const json format =
      json::parse(std::string(layer->format_json.data, layer->format_json.size), nullptr, false);
  const int bits = format.is_object() ? format.value("bits", 0) : 0;
  if (bits < 1 || bits > 16) return;  // reported by the layer checks
  const Matrix rtn =
      round_to_nearest(w, bits, format.value("group_size", int64_t{-1}), format.value("sym", true));
  const double error = output_error(calibration, w, unscaled);
  const double rtn_error = output_error(calibration, w, rtn.values.data());
  if (!(error < rtn_error))
    s.fail(where +
           "with the scales folded, the layer output error on the calibration inputs, "
           "||X (W - w_hat / s)^T|| = " +
           number(error) + ", is not below round-to-nearest's " + number(rtn_error) +
           " at the same bits, group size and symmetry");
}

// Checks that a call that must fail did: an error status with a message.
void expect_error(Session& s, const std::string& what, const Outcome& outcome) {
  if (outcome.ok)
    s.fail(what + " succeeded; it must return an error status");
  else if (outcome.slot_null)
    return;
  else if (outcome.code == LMF_OK)
    s.fail(what + " returned a status whose code is LMF_OK (0)");
  else if (outcome.message.empty())
    s.fail(what + " returned " + outcome.text() + " with an empty message");
}

}  // namespace

Failures check_capabilities(const ComponentRef& quantizer) {
  Failures failures;
  Session s(quantizer, failures);
  for (const std::string& problem : s.capability_problems()) s.fail(problem);
  return failures;
}

Failures check_layers(const ComponentRef& quantizer) {
  Failures failures;
  Session s(quantizer, failures);
  if (!s.ready()) return failures;
  if (!contains(s.caps().devices, std::string("cpu"))) {
    s.fail(
        "capabilities' devices do not list \"cpu\": the CPU conformance suite cannot check "
        "this quantizer's claims");
    return failures;
  }
  int quantized = 0;
  uint64_t seed = 1;
  for (const WeightCase& c : weight_cases())
    if (check_case(s, c, seed++)) ++quantized;
  if (quantized == 0) s.fail("quantize did not succeed on any weight case");
  check_input_scales(s);
  return failures;
}

Failures check_bad_inputs(const ComponentRef& quantizer) {
  Failures failures;
  Session s(quantizer, failures);
  if (!s.ready() || !contains(s.caps().devices, std::string("cpu"))) return failures;
  const std::string layer_name = "conformance.bad_input";
  const int64_t rows = 16, cols = 64;
  if (s.caps().needs_calibration) {
    Matrix calibration = activations(kCalibrationTokens, cols, 77);
    HostTensor inputs = float_tensor({calibration.rows, cols}, calibration.values);
    s.observe(layer_name, inputs.dl());
  }

  struct BadWeight {
    const char* what;
    DLDataType dtype;
    std::vector<int64_t> shape;
  };
  const BadWeight bad_weights[] = {
      {"quantize of a rank-1 weight [64]", float32_type(), {cols}},
      {"quantize of an int32 weight [16, 64]", int32_type(), {rows, cols}},
      {"quantize of a rank-3 weight [2, 16, 64]", float32_type(), {2, rows, cols}},
  };
  for (const BadWeight& bad : bad_weights) {
    HostTensor weight(bad.dtype, bad.shape);
    weight.fill_bytes(0x3c);  // small positive floats, valid int32s
    LayerPtr layer;
    expect_error(s, bad.what, s.quantize(layer_name, weight.dl(), &layer));
  }

  // A good layer, then outputs and inputs of the wrong shape or dtype.
  Matrix w = random_weight(rows, cols, 5);
  HostTensor weight = float_tensor({rows, cols}, w.values);
  LayerPtr layer;
  Outcome quantized = s.quantize(layer_name, weight.dl(), &layer);
  if (!quantized.ok || !layer) {
    s.fail("quantize of a good float32 [16, 64] weight failed: " + quantized.text());
    return failures;
  }
  // A failed call leaves its outputs untouched: each output starts as 0x5a bytes.
  auto untouched = [&](const std::string& what, const HostTensor& out) {
    const auto* bytes = out.data<unsigned char>();
    for (size_t i = 0; i < out.bytes(); ++i)
      if (bytes[i] != 0x5a) {
        s.fail(what + " failed but wrote into its output (a failed call leaves outputs untouched)");
        return;
      }
  };
  if (s.caps().claims("dequantize")) {
    HostTensor narrow(float32_type(), {rows, cols - 1});
    narrow.fill_bytes(0x5a);
    expect_error(s, "dequantize into a float32 [16, 63] weight for a [16, 64] layer",
                 s.dequantize(layer.get(), narrow.dl()));
    untouched("dequantize into a mis-shaped weight", narrow);
    HostTensor integers(int32_type(), {rows, cols});
    expect_error(s, "dequantize into an int32 weight", s.dequantize(layer.get(), integers.dl()));
  }
  if (s.caps().claims("matmul")) {
    HostTensor x(float32_type(), {3, cols - 1}), y(float32_type(), {3, rows});
    y.fill_bytes(0x5a);
    expect_error(s, "matmul with x [3, 63] for a [16, 64] layer",
                 s.matmul(layer.get(), x.dl(), y.dl()));
    untouched("matmul with a mis-shaped x", y);
    HostTensor good_x(float32_type(), {3, cols}), narrow_y(float32_type(), {3, rows - 1});
    expect_error(s, "matmul into y [3, 15] for a [16, 64] layer",
                 s.matmul(layer.get(), good_x.dl(), narrow_y.dl()));
    HostTensor integer_x(int32_type(), {3, cols});
    expect_error(s, "matmul with an int32 x", s.matmul(layer.get(), integer_x.dl(), y.dl()));
  }
  if (s.caps().claims("import_layer")) {
    LayerPtr imported;
    expect_error(
        s, "import_layer with no tensors",
        s.import_layer({}, std::string_view(layer->format_json.data, layer->format_json.size),
                       &imported));
  }
  return failures;
}

Failures check_quantizer(const ComponentRef& quantizer) {
  Failures all;
  for (auto check : {&check_capabilities, &check_layers, &check_bad_inputs})
    for (std::string& failure : check(quantizer)) all.push_back(std::move(failure));
  return all;
}

}  // namespace lmf::conformance
