#include "tests/conformance/quantizer/error_bounds.h"

#include <algorithm>
#include <cmath>

namespace lmf::conformance {
namespace {

constexpr double kFloat32Roundoff = 0x1.0p-24;

double unit_roundoff(DLDataType dtype) {
  if (dtype.code == kDLFloat && dtype.bits == 16) return 0x1.0p-11;
  if (dtype.code == kDLBfloat) return 0x1.0p-8;
  if (dtype.code == kDLFloat && dtype.bits == 64) return 0x1.0p-53;
  return kFloat32Roundoff;
}

// Half the gap between the dtype's subnormals: how far a tiny stored scale may be off.
double subnormal_half_gap(DLDataType dtype) {
  if (dtype.code == kDLFloat && dtype.bits == 16) return 0x1.0p-25;
  if (dtype.code == kDLBfloat) return 0x1.0p-134;
  if (dtype.code == kDLFloat && dtype.bits == 64) return 0x1.0p-1074;
  return 0x1.0p-150;
}

// Half the widest gap between neighbouring NF4 levels (-1 .. -0.6962 on the negative side),
// relative to the block's absmax.
constexpr double kNf4HalfGap = 0.152;
// Half the widest gap of bitsandbytes' 8-bit dynamic map (its top decade's midpoints are
// 0.9 / 64 apart), relative to the nested block's max |absmax - mean|.
constexpr double kDynamicMapHalfGap = 0.9 / 64 / 2;

// The "nf4" rule of Note [Error bounds]: blocks over the flattened weight, and the error
// of the double-quantized absmax.
ElementBounds nf4_bounds(const nlohmann::json& format, const Matrix& w, int64_t block_size,
                         double roundoff) {
  const size_t block = static_cast<size_t>(block_size), count = w.values.size();
  const size_t blocks = (count + block - 1) / block;
  std::vector<double> absmax(blocks, 0.0);
  for (size_t i = 0; i < count; ++i)
    absmax[i / block] = std::max(absmax[i / block], std::fabs(static_cast<double>(w.values[i])));

  std::vector<double> absmax_error(blocks, 0.0);
  const bool double_quant = format.value("double_quant", false);
  const size_t nested = format.value("nested_blocksize", size_t{256});
  if (double_quant && nested > 0 && blocks > 0) {
    double mean = 0.0;
    for (double a : absmax) mean += a / static_cast<double>(blocks);
    for (size_t first = 0; first < blocks; first += nested) {
      const size_t last = std::min(blocks, first + nested);
      double deviation = 0.0;
      for (size_t b = first; b < last; ++b)
        deviation = std::max(deviation, std::fabs(absmax[b] - mean));
      for (size_t b = first; b < last; ++b)
        absmax_error[b] = kDynamicMapHalfGap * deviation + (deviation + std::fabs(mean)) * roundoff;
    }
  }

  ElementBounds out;
  out.bound.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const double m = absmax[i / block], half_step = kNf4HalfGap * m;
    out.bound[i] = half_step + absmax_error[i / block] + (m + 2 * half_step) * roundoff;
  }
  out.description = "nf4 (blocks of " + std::to_string(block) +
                    " of the flattened weight): |w - w_hat| <= 0.152 * max|block| + eps" +
                    (double_quant ? " + 0.00703125 * max|absmax - mean| over the " +
                                        std::to_string(nested) + " absmax of its nested block"
                                  : std::string());
  return out;
}

}  // namespace

std::optional<ElementBounds> error_bounds(const nlohmann::json& format, const Matrix& w,
                                          DLDataType scale_dtype, std::string* problem) {
  auto refuse = [&](const std::string& why) {
    *problem = why;
    return std::nullopt;
  };
  if (!format.is_object()) return refuse("format_json is not a JSON object");
  const std::string name = format.value("format", std::string());
  const auto group_it = format.find("group_size");
  if (group_it == format.end() || !group_it->is_number_integer())
    return refuse("format_json has no integer \"group_size\" (the suite needs it for the bound)");
  const int64_t group_size = group_it->get<int64_t>();
  if (group_size == 0 || group_size < -1)
    return refuse("format_json \"group_size\" is " + std::to_string(group_size) +
                  " (expected -1 or a positive size)");

  enum class Rule { kSymmetric, kAsymmetric, kNf4 } rule;
  int bits = 0;
  if (name == "nf4") {
    rule = Rule::kNf4;
  } else {
    const auto bits_it = format.find("bits");
    const auto sym_it = format.find("sym");
    if (bits_it == format.end() || !bits_it->is_number_integer() || sym_it == format.end() ||
        !sym_it->is_boolean())
      return refuse("no error bound known for format \"" + name +
                    "\": it is neither nf4 nor uniform with integer \"bits\" and boolean \"sym\" "
                    "(add its bound to tests/conformance/quantizer/error_bounds.cpp)");
    bits = bits_it->get<int>();
    rule = sym_it->get<bool>() ? Rule::kSymmetric : Rule::kAsymmetric;
    if (bits < (rule == Rule::kSymmetric ? 2 : 1) || bits > 16)
      return refuse("format_json \"bits\" is " + std::to_string(bits) +
                    ", outside the range the suite bounds");
  }

  const int64_t group = group_size > 0 ? group_size : rule == Rule::kNf4 ? 64 : w.cols;
  const double roundoff = unit_roundoff(scale_dtype) + 4 * kFloat32Roundoff;
  if (rule == Rule::kNf4) return nf4_bounds(format, w, group, roundoff);
  ElementBounds out;
  out.bound.resize(w.values.size());
  for (int64_t r = 0; r < w.rows; ++r) {
    for (int64_t start = 0; start < w.cols; start += group) {
      const int64_t end = std::min(w.cols, start + group);
      double max_abs = 0.0, max_value = 0.0, min_value = 0.0;
      for (int64_t c = start; c < end; ++c) {
        max_abs = std::max(max_abs, std::fabs(static_cast<double>(w.at(r, c))));
        max_value = std::max(max_value, static_cast<double>(w.at(r, c)));
        min_value = std::min(min_value, static_cast<double>(w.at(r, c)));
      }
      const double half_step = rule == Rule::kSymmetric
                                   ? max_abs / (std::ldexp(1.0, bits - 1) - 1.0) / 2.0
                                   : (max_value - min_value) / (std::ldexp(1.0, bits) - 1.0) / 2.0;
      const double bound = half_step + (max_abs + 2 * half_step) * roundoff +
                           std::ldexp(subnormal_half_gap(scale_dtype), bits);
      for (int64_t c = start; c < end; ++c) out.bound[static_cast<size_t>(r * w.cols + c)] = bound;
    }
  }

  const std::string group_text =
      group_size > 0 ? "groups of " + std::to_string(group_size) : "per output channel";
  if (rule == Rule::kSymmetric)
    out.description = "symmetric " + std::to_string(bits) + "-bit (" + group_text +
                      "): |w - w_hat| <= s/2 + eps, s = max|group| / " +
                      std::to_string((1 << (bits - 1)) - 1);
  else
    out.description = "asymmetric " + std::to_string(bits) + "-bit (" + group_text +
                      "): |w - w_hat| <= s/2 + eps, s = (max(w, 0) - min(w, 0)) / " +
                      std::to_string((1 << bits) - 1);
  return out;
}

}  // namespace lmf::conformance
