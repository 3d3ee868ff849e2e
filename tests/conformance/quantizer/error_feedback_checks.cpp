#include "tests/conformance/quantizer/error_feedback_checks.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string_view>
#include <vector>

namespace lmf::conformance {
namespace {

const DLTensor* find_tensor(const lmf_quantized_layer& layer, std::string_view name) {
  for (size_t i = 0; i < layer.tensor_count; ++i)
    if (std::string_view(layer.tensors[i].name.data, layer.tensors[i].name.size) == name &&
        layer.tensors[i].tensor != nullptr)
      return &layer.tensors[i].tensor->dl_tensor;
  return nullptr;
}

// IEEE 754 binary16 to double.
double half_to_double(uint16_t bits) {
  const int exponent = (bits >> 10) & 0x1f;
  const double mantissa = bits & 0x3ff;
  const double magnitude = exponent == 0    ? std::ldexp(mantissa, -24)
                           : exponent == 31 ? INFINITY
                                            : std::ldexp(1024.0 + mantissa, exponent - 25);
  return (bits & 0x8000) ? -magnitude : magnitude;
}

int64_t numel(const DLTensor& t) {
  int64_t n = 1;
  for (int i = 0; i < t.ndim; ++i) n *= t.shape[i];
  return n;
}

// The tensor's values as doubles, or an empty vector for a dtype the suite does not read.
std::vector<double> read_scales(const DLTensor& t) {
  std::vector<double> out(static_cast<size_t>(numel(t)));
  const char* data = static_cast<const char*>(t.data) + t.byte_offset;
  for (size_t i = 0; i < out.size(); ++i) {
    if (t.dtype.code == kDLFloat && t.dtype.bits == 16) {
      uint16_t half;
      std::memcpy(&half, data + 2 * i, 2);
      out[i] = half_to_double(half);
    } else if (t.dtype.code == kDLFloat && t.dtype.bits == 32) {
      float value;
      std::memcpy(&value, data + 4 * i, 4);
      out[i] = value;
    } else {
      return {};
    }
  }
  return out;
}

}  // namespace

bool uses_error_feedback(const nlohmann::json& format) {
  if (!format.is_object()) return false;
  const std::string method = format.value("method", std::string());
  return method == "gptq" || method == "awq";
}

Matrix round_to_nearest(const Matrix& w, int bits, int64_t group_size, bool sym) {
  const float maxq = static_cast<float>((1 << bits) - 1);
  const int64_t group = group_size > 0 ? group_size : w.cols;
  Matrix out = w;
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t start = 0; start < w.cols; start += group) {
      const int64_t end = std::min(w.cols, start + group);
      float lo = 0.0f, hi = 0.0f;
      for (int64_t c = start; c < end; ++c)
        lo = std::min(lo, w.at(r, c)), hi = std::max(hi, w.at(r, c));
      if (sym) hi = std::max(-lo, hi), lo = -hi;
      if (lo == 0.0f && hi == 0.0f) lo = -1.0f, hi = 1.0f;
      const float scale = (hi - lo) / maxq;
      const float zero = sym ? (maxq + 1.0f) / 2.0f : std::nearbyint(-lo / scale);
      for (int64_t c = start; c < end; ++c) {
        const float code = std::clamp(std::nearbyint(w.at(r, c) / scale) + zero, 0.0f, maxq);
        out.values[static_cast<size_t>(r * w.cols + c)] = scale * (code - zero);
      }
    }
  return out;
}

double output_error(const Matrix& x, const Matrix& w, const float* w_hat) {
  double squares = 0.0;
  for (int64_t t = 0; t < x.rows; ++t)
    for (int64_t o = 0; o < w.rows; ++o) {
      double y = 0.0;
      for (int64_t i = 0; i < w.cols; ++i) {
        const size_t at = static_cast<size_t>(o * w.cols + i);
        y += static_cast<double>(x.at(t, i)) * (static_cast<double>(w.values[at]) - w_hat[at]);
      }
      squares += y * y;
    }
  return std::sqrt(squares);
}

std::string off_grid(const lmf_quantized_layer& layer, const nlohmann::json& format,
                     const float* w_hat) {
  const int64_t out = layer.out_features, in = layer.in_features;
  const int bits = format.value("bits", 0);
  const int64_t group_size = format.value("group_size", int64_t{-1});
  if (bits < 1 || bits > 16) return "format_json has no usable \"bits\" for the grid check";
  const DLTensor* scales_tensor = find_tensor(layer, "scales");
  if (scales_tensor == nullptr || scales_tensor->ndim != 2 || scales_tensor->shape[1] != out)
    return "the layer has no \"scales\" [groups, out_features] tensor to check the grid with";
  const std::vector<double> scales = read_scales(*scales_tensor);
  if (scales.empty()) return "the layer's \"scales\" are neither float16 nor float32";
  const int64_t groups = scales_tensor->shape[0];

  std::vector<int64_t> group_of(static_cast<size_t>(in));
  const DLTensor* g_idx = find_tensor(layer, "g_idx");
  for (int64_t i = 0; i < in; ++i) {
    if (g_idx != nullptr && g_idx->dtype.code == kDLInt && g_idx->dtype.bits == 32 &&
        numel(*g_idx) == in)
      group_of[static_cast<size_t>(i)] = static_cast<const int32_t*>(g_idx->data)[i];
    else
      group_of[static_cast<size_t>(i)] = group_size > 0 ? i / group_size : 0;
    if (group_of[static_cast<size_t>(i)] < 0 || group_of[static_cast<size_t>(i)] >= groups)
      return "g_idx[" + std::to_string(i) +
             "] = " + std::to_string(group_of[static_cast<size_t>(i)]) + " is not a group of the " +
             std::to_string(groups) + " scales";
  }

  // Per (group, row): the smallest and largest level k = ŵ / scale.
  std::vector<double> low(static_cast<size_t>(groups * out), INFINITY);
  std::vector<double> high(static_cast<size_t>(groups * out), -INFINITY);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) {
      const size_t cell = static_cast<size_t>(group_of[static_cast<size_t>(i)] * out + o);
      const double value = w_hat[o * in + i], scale = scales[cell];
      const double k = scale != 0.0 ? value / scale : (value == 0.0 ? 0.0 : NAN);
      if (!(std::fabs(k - std::nearbyint(k)) <= 1e-3))
        return "w_hat[" + std::to_string(o) + ", " + std::to_string(i) +
               "] = " + std::to_string(value) + " is not a multiple of its group's scale " +
               std::to_string(scale) + " (" + std::to_string(k) + " steps)";
      low[cell] = std::min(low[cell], std::nearbyint(k));
      high[cell] = std::max(high[cell], std::nearbyint(k));
    }
  for (size_t cell = 0; cell < low.size(); ++cell)
    if (high[cell] - low[cell] > static_cast<double>((1 << bits) - 1))
      return "row " + std::to_string(cell % static_cast<size_t>(out)) + " of group " +
             std::to_string(cell / static_cast<size_t>(out)) + " uses levels " +
             std::to_string(static_cast<int64_t>(low[cell])) + " .. " +
             std::to_string(static_cast<int64_t>(high[cell])) + " of its scale, more than the " +
             std::to_string(1 << bits) + " a " + std::to_string(bits) + "-bit grid has";
  return "";
}

}  // namespace lmf::conformance
