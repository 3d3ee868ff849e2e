#include "plugins/quantizer/nf4/nf4_layout.h"

#include <stdexcept>

namespace lmf::quant::nf4 {
namespace {

using nlohmann::json;

[[noreturn]] void refuse(const std::string& message) {
  throw std::invalid_argument("format_json " + message);
}

// The integer at `key`, or `fallback` when absent; refuses anything but an integer.
int64_t integer_field(const json& format, const char* key, int64_t fallback) {
  const auto found = format.find(key);
  if (found == format.end()) return fallback;
  if (!found->is_number_integer())
    refuse(std::string("\"") + key + "\" must be an integer, got " + found->dump());
  return found->get<int64_t>();
}

// Refuses a present `key` whose value is not `expected`.
void expect_if_present(const json& format, const char* key, const json& expected) {
  const auto found = format.find(key);
  if (found != format.end() && *found != expected)
    refuse(std::string("\"") + key + "\" is " + found->dump() + ", but an NF4 layer has " +
           expected.dump());
}

}  // namespace

std::vector<std::string> Nf4Format::tensor_names() const {
  if (!double_quant) return {kWeight, kAbsmax, kQuantMap};
  return {kWeight, kAbsmax, kQuantMap, kNestedAbsmax, kNestedQuantMap, kNestedOffset};
}

bool is_nf4_block_size(int64_t block_size) {
  return block_size >= 32 && block_size <= 4096 && (block_size & (block_size - 1)) == 0;
}

std::string nf4_block_sizes_text() {
  std::string text;
  for (int64_t size = 32; size <= 4096; size *= 2)
    text += (text.empty() ? "" : ", ") + std::to_string(size);
  return text;
}

json format_json(const Nf4Format& format) {
  json out = {{"format", "nf4"},
              {"quant_type", "nf4"},
              {"bits", 4},
              {"sym", true},
              {"group_size", format.block_size},
              {"blocksize", format.block_size},
              {"double_quant", format.double_quant},
              {"quant_storage", "uint8"},
              {"shape", {format.out_features, format.in_features}},
              {"tensors", format.tensor_names()}};
  if (format.double_quant) out["nested_blocksize"] = format.nested_block_size;
  return out;
}

Nf4Format parse_format_json(const json& format) {
  if (!format.is_object()) refuse("must be a JSON object");
  const auto name = format.find("format");
  if (name == format.end()) refuse("has no \"format\" (expected \"nf4\")");
  expect_if_present(format, "format", "nf4");
  expect_if_present(format, "quant_type", "nf4");
  expect_if_present(format, "bits", 4);
  expect_if_present(format, "sym", true);
  expect_if_present(format, "quant_storage", "uint8");

  Nf4Format out;
  const int64_t blocksize = integer_field(format, "blocksize", -1);
  const int64_t group_size = integer_field(format, "group_size", -1);
  if (blocksize == -1 && group_size == -1) refuse("has neither \"blocksize\" nor \"group_size\"");
  if (blocksize != -1 && group_size != -1 && blocksize != group_size)
    refuse("\"blocksize\" " + std::to_string(blocksize) + " and \"group_size\" " +
           std::to_string(group_size) + " disagree");
  out.block_size = blocksize != -1 ? blocksize : group_size;
  if (!is_nf4_block_size(out.block_size))
    refuse("block size " + std::to_string(out.block_size) + " is not one bitsandbytes' NF4 has (" +
           nf4_block_sizes_text() + ")");

  const auto double_quant = format.find("double_quant");
  if (double_quant == format.end() || !double_quant->is_boolean())
    refuse("needs a boolean \"double_quant\"");
  out.double_quant = double_quant->get<bool>();
  out.nested_block_size = integer_field(format, "nested_blocksize", 256);
  if (out.nested_block_size <= 0)
    refuse("\"nested_blocksize\" must be positive, got " + std::to_string(out.nested_block_size));

  const auto shape = format.find("shape");
  if (shape == format.end() || !shape->is_array() || shape->size() != 2 ||
      !(*shape)[0].is_number_integer() || !(*shape)[1].is_number_integer() ||
      (*shape)[0].get<int64_t>() <= 0 || (*shape)[1].get<int64_t>() <= 0)
    refuse("needs \"shape\": [out_features, in_features], two positive integers, got " +
           (shape == format.end() ? std::string("nothing") : shape->dump()));
  out.out_features = (*shape)[0].get<int64_t>();
  out.in_features = (*shape)[1].get<int64_t>();
  if (out.elements() % out.block_size != 0)
    refuse("\"shape\" " + shape->dump() + " has " + std::to_string(out.elements()) +
           " elements, not a multiple of the block size " + std::to_string(out.block_size));
  return out;
}

}  // namespace lmf::quant::nf4
