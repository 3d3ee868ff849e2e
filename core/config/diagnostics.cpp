#include "core/config/diagnostics.h"

#include <algorithm>
#include <cstddef>

namespace lmf::config {
namespace {

using nlohmann::json;

std::string dump_compact(const json& value) {
  // replace, not throw: a message about bad input must not fail on bad UTF-8.
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Optimal string alignment distance: a swapped pair of letters counts as one typo.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::string json_type_name(const json& value) {
  switch (value.type()) {
    case json::value_t::object:
      return "object";
    case json::value_t::array:
      return "array";
    case json::value_t::string:
      return "string";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    case json::value_t::null:
      return "null";
    case json::value_t::binary:
    case json::value_t::discarded:
      break;
  }
  return "invalid value";
}

std::string show_value(const json& value, std::size_t max_length) {
  std::string text = dump_compact(value);
  if (text.size() > max_length && max_length > 3) {
    std::size_t cut = max_length - 3;
    // Back up to a character boundary so that the message stays valid UTF-8.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text = text.substr(0, cut) + "...";
  }
  return text;
}

std::string describe_value(const json& value) {
  if (value.is_null()) return "null";
  return json_type_name(value) + " " + show_value(value);
}

std::string json_quoted(std::string_view text) {
  return dump_compact(json(std::string(text)));
}

std::optional<std::string> closest_name(std::string_view name,
                                        const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = 0;
  for (const std::string& candidate : candidates) {
    const std::size_t distance = edit_distance(name, candidate);
    // About one typo per three letters: "bitz" -> "bits", but not "seed" -> "bits".
    const std::size_t allowed = std::clamp<std::size_t>(candidate.size() / 3, 1, 3);
    if (distance == 0 || distance > allowed || distance >= name.size()) continue;
    if (!best || distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace lmf::config
