#include "core/config/json_pointer.h"

namespace lmf::config {

std::string escape_pointer_token(std::string_view token) {
  std::string escaped;
  escaped.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      escaped += "~0";
    } else if (c == '/') {
      escaped += "~1";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

std::string append_pointer(std::string_view base, std::string_view token) {
  std::string pointer(base);
  pointer += '/';
  pointer += escape_pointer_token(token);
  return pointer;
}

std::string append_pointer(std::string_view base, std::size_t index) {
  std::string pointer(base);
  pointer += '/';
  pointer += std::to_string(index);
  return pointer;
}

std::string to_json_pointer(std::string_view dotted_key) {
  if (dotted_key.empty()) return "";
  std::string pointer;
  while (true) {
    const std::size_t dot = dotted_key.find('.');
    pointer = append_pointer(pointer, dotted_key.substr(0, dot));
    if (dot == std::string_view::npos) return pointer;
    dotted_key.remove_prefix(dot + 1);
  }
}

}  // namespace lmf::config
