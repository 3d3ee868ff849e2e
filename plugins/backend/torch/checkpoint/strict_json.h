// JSON parsing for checkpoint headers and indexes: nlohmann's parser, plus what it lets
// through silently: a key given twice in one object (nlohmann keeps the last) is refused,
// and the order of the top-level keys is kept (nlohmann's objects sort their keys).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace lmf::checkpoint {

struct StrictJson {
  nlohmann::json value;
  std::vector<std::string> top_level_keys;  // in document order; empty unless an object
};

// Throws CheckpointError "<source>: invalid JSON: ..." or "<source>: duplicate key ...".
StrictJson parse_strict_json(std::string_view text, const std::string& source);

}  // namespace lmf::checkpoint
