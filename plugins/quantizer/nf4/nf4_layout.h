// The NF4 layer layout: tensor names, the format_json that describes them, and the checks
// a layout read back from a checkpoint must pass (Note [NF4 checkpoint layout]).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace lmf::quant::nf4 {

// Note [NF4 checkpoint layout]
// A layer holds bitsandbytes' Params4bit tensors under the names transformers gives them in
// a state dict: for a linear layer <p>, the key <p>.weight holds "weight" and the key
// <p>.weight.<name> holds each other tensor <name> (docs/quantization.md, "nf4").
//   weight            uint8 [out * in / 2, 1]   the codes of the row-major [out, in] weight,
//                                               flattened: byte k holds element 2k in its
//                                               high nibble and element 2k + 1 in its low one
//   absmax            float32 [blocks]          max |w| of each block of block_size
//                                               consecutive elements; with double_quant,
//                                               uint8 [blocks]: their dynamic-map codes
//   quant_map         float32 [16]              the NF4 levels (kNf4Levels)
//   with double_quant (bitsandbytes' compress_statistics=True):
//   nested_absmax     float32 [ceil(blocks / 256)]  max |absmax - offset| per 256 blocks
//   nested_quant_map  float32 [256]             the dynamic map (dynamic_map())
//   nested_offset     float32 [1]               offset, the mean of absmax
// and format_json
//   {"format": "nf4", "quant_type": "nf4", "bits": 4, "sym": true, "group_size": B,
//    "blocksize": B, "double_quant": D, "nested_blocksize": 256 (with D), "quant_storage":
//    "uint8", "shape": [out, in], "tensors": [the names above]}.
// transformers also stores <p>.weight.quant_state.bitsandbytes__nf4, the UTF-8 bytes of
// {"quant_type", "blocksize", "dtype", "shape"} and with D {"nested_blocksize",
// "nested_dtype": "float32", "nested_offset"}: a writer makes it from format_json and the
// value of nested_offset; a reader does the reverse.

inline constexpr const char* kWeight = "weight";
inline constexpr const char* kAbsmax = "absmax";
inline constexpr const char* kQuantMap = "quant_map";
inline constexpr const char* kNestedAbsmax = "nested_absmax";
inline constexpr const char* kNestedQuantMap = "nested_quant_map";
inline constexpr const char* kNestedOffset = "nested_offset";

// What a layer's layout says.
struct Nf4Format {
  int64_t out_features = 0;
  int64_t in_features = 0;
  int64_t block_size = 64;
  bool double_quant = true;
  int64_t nested_block_size = 256;

  int64_t elements() const { return out_features * in_features; }
  int64_t blocks() const { return elements() / block_size; }
  int64_t nested_blocks() const { return (blocks() + nested_block_size - 1) / nested_block_size; }
  std::vector<std::string> tensor_names() const;
};

// bitsandbytes' NF4 block sizes: the powers of two from 32 to 4096.
bool is_nf4_block_size(int64_t block_size);
std::string nf4_block_sizes_text();  // "32, 64, ..., 4096", for messages

nlohmann::json format_json(const Nf4Format& format);

// Reads a format_json (from a checkpoint); throws std::invalid_argument naming the field
// and what was expected.
Nf4Format parse_format_json(const nlohmann::json& format);

}  // namespace lmf::quant::nf4
