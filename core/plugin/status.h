// Status objects on the host side: the definition of lmf_status and the C++ exception that
// carries a status's code and message inside the host.
#pragma once

#include <lmf/lmf.h>

#include <stdexcept>
#include <string>
#include <string_view>

struct lmf_status {
  lmf_status_code code;
  std::string message;
};

namespace lmf::plugin {

// A failure reported by a plugin (or by the host about a plugin), with its status code.
class PluginError : public std::runtime_error {
 public:
  PluginError(lmf_status_code code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  lmf_status_code code() const noexcept { return code_; }

 private:
  lmf_status_code code_;
};

lmf_status_t* make_status(lmf_status_code code, std::string_view message) noexcept;
// Releases a status made through the host's table; NULL is ignored.
void release_status(lmf_status_t* status) noexcept;

// Throws PluginError for a non-NULL status (releasing it); `context` prefixes the message,
// e.g. "quantizer \"gptq\": quantize".
void check_status(lmf_status_t* status, std::string_view context);

const char* status_code_name(lmf_status_code code) noexcept;

}  // namespace lmf::plugin
