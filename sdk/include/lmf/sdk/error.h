// lmforge SDK — errors across the boundary.
//
// Note [Exceptions stop at the boundary]
// Plugin code throws ordinary C++ exceptions. Every function the SDK exports through a
// vtable is a noexcept trampoline that runs the plugin's code inside `guard`, which turns
// an exception into an lmf_status_t* (lmf::sdk::Error keeps its code; anything else
// becomes LMF_ERR_INTERNAL with what() as message). In the other direction, `check`
// turns a status received from the host or another component back into an Error.
#pragma once

#include <lmf/lmf.h>

#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>

namespace lmf::sdk {

// The host's API table and this plugin's handle, set once by the entry point.
// Hidden visibility: each plugin library has its own copy, even when several plugins
// built from this SDK are loaded into one process.
struct HostContext {
  const lmf_host_api* api = nullptr;
  lmf_host_t* host = nullptr;
};
__attribute__((visibility("hidden"))) inline HostContext g_host_context;

inline const lmf_host_api& api() {
  if (g_host_context.api == nullptr)
    throw std::logic_error("lmforge SDK used before the plugin entry point ran");
  return *g_host_context.api;
}
inline lmf_host_t* host_handle() {
  return g_host_context.host;
}

inline lmf_str_view to_view(std::string_view text) {
  return {text.data(), text.size()};
}
inline std::string_view from_view(lmf_str_view view) {
  return view.data == nullptr ? std::string_view{} : std::string_view{view.data, view.size};
}

// An error with an lmforge status code.
class Error : public std::runtime_error {
 public:
  Error(lmf_status_code code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  lmf_status_code code() const noexcept { return code_; }

 private:
  lmf_status_code code_;
};

// Shorthands that read as what they mean at the throw site.
[[noreturn]] inline void fail(lmf_status_code code, const std::string& message) {
  throw Error(code, message);
}
[[noreturn]] inline void unsupported(std::string_view what) {
  throw Error(LMF_ERR_UNSUPPORTED, std::string(what) + " is not supported by this component");
}

inline lmf_status_t* make_status(lmf_status_code code, std::string_view message) noexcept {
  if (g_host_context.api == nullptr) return nullptr;  // cannot happen after the entry point
  return g_host_context.api->status_create(code, to_view(message));
}

// Throws an Error for a non-NULL status, releasing the status.
inline void check(lmf_status_t* status) {
  if (status == nullptr) return;
  const lmf_host_api& host = api();
  lmf_status_code code = host.status_code(status);
  std::string message = host.status_message(status);
  host.status_release(status);
  throw Error(code, message);
}

// Runs `body` and converts whatever it throws into a status (Note [Exceptions stop at the
// boundary]). Returns NULL on success.
template <class Body>
lmf_status_t* guard(Body&& body) noexcept {
  try {
    body();
    return nullptr;
  } catch (const Error& e) {
    return make_status(e.code(), e.what());
  } catch (const std::bad_alloc&) {
    return make_status(LMF_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::invalid_argument& e) {
    return make_status(LMF_ERR_INVALID_ARGUMENT, e.what());
  } catch (const std::exception& e) {
    return make_status(LMF_ERR_INTERNAL, e.what());
  } catch (...) {
    return make_status(LMF_ERR_INTERNAL, "unknown exception");
  }
}

}  // namespace lmf::sdk
