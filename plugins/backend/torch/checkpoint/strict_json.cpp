#include "checkpoint/strict_json.h"

#include <set>

#include "checkpoint/checkpoint_error.h"

namespace lmf::checkpoint {
namespace {

// nlohmann quotes the text it read last; a long string token would flood the message.
std::string shortened(std::string message) {
  constexpr size_t kMaxLength = 240;
  if (message.size() > kMaxLength) message = message.substr(0, kMaxLength) + "...";
  return message;
}

}  // namespace

StrictJson parse_strict_json(std::string_view text, const std::string& source) {
  StrictJson result;
  std::vector<std::set<std::string>> open_objects;  // the keys seen so far, innermost last
  std::string top_level_key;                        // the member being parsed, for messages

  auto on_event = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) {
      open_objects.emplace_back();
    } else if (event == Event::object_end) {
      open_objects.pop_back();
    } else if (event == Event::key) {
      std::string key = parsed.get<std::string>();
      if (!open_objects.back().insert(key).second) {
        const std::string where = depth > 1 ? " in \"" + top_level_key + "\"" : "";
        throw CheckpointError(source + ": duplicate key \"" + key + "\"" + where);
      }
      if (depth == 1) {
        result.top_level_keys.push_back(key);
        top_level_key = std::move(key);
      }
    }
    return true;
  };

  try {
    result.value = nlohmann::json::parse(text.begin(), text.end(), on_event);
  } catch (const nlohmann::json::exception& error) {
    throw CheckpointError(source + ": invalid JSON: " + shortened(error.what()));
  }
  return result;
}

}  // namespace lmf::checkpoint
