#pragma once

#include <cstddef>
#include <string>
#include <string_view>

// RFC 6901 JSON pointers, built as strings so that messages and origin maps share one
// spelling: "" is the whole document, "/a/0/b~1c" is a["a"][0]["b/c"].
namespace lmf::config {

// "~" -> "~0" and "/" -> "~1", in that order, so that "~1" in a key survives a round trip.
std::string escape_pointer_token(std::string_view token);

// base + "/" + escaped token.
std::string append_pointer(std::string_view base, std::string_view token);
std::string append_pointer(std::string_view base, std::size_t index);

// "a.b.0" -> "/a/b/0". Segments are split on '.' and escaped; "" -> "".
std::string to_json_pointer(std::string_view dotted_key);

}  // namespace lmf::config
