// lmforge SDK — the host's services, as C++.
#pragma once

#include <lmf/sdk/error.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace lmf::sdk {

// Copies text into a host-allocated lmf_string, the form every "returned text" takes.
inline lmf_string to_owned_string(std::string_view text) {
  char* data = static_cast<char*>(api().alloc(text.size() + 1, 0));
  if (data == nullptr) throw std::bad_alloc();
  std::memcpy(data, text.data(), text.size());
  data[text.size()] = '\0';
  return {data, text.size()};
}

// Takes ownership of a host-allocated lmf_string and returns it as std::string.
inline std::string take_string(lmf_string& owned) {
  std::string text = owned.data == nullptr ? std::string() : std::string(owned.data, owned.size);
  api().free(owned.data);
  owned = {nullptr, 0};
  return text;
}

inline void log(lmf_log_level level, std::string_view message) {
  api().log(host_handle(), level, to_view(message));
}
inline void log_debug(std::string_view message) {
  log(LMF_LOG_DEBUG, message);
}
inline void log_info(std::string_view message) {
  log(LMF_LOG_INFO, message);
}
inline void log_warning(std::string_view message) {
  log(LMF_LOG_WARNING, message);
}
inline void log_error(std::string_view message) {
  log(LMF_LOG_ERROR, message);
}

inline void metric(std::string_view name, double value, int64_t step) {
  api().metric(host_handle(), to_view(name), value, step);
}

inline bool cancelled() {
  return api().is_cancelled(host_handle()) != 0;
}

// Throws LMF_ERR_CANCELLED once the user asked to stop; call it between coarse steps.
inline void throw_if_cancelled() {
  if (cancelled()) fail(LMF_ERR_CANCELLED, "cancelled");
}

// The composed pipeline configuration's value at a JSON pointer, as JSON text; nullopt when
// the pointer names nothing.
inline std::optional<std::string> config_value(std::string_view json_pointer) {
  lmf_string out{nullptr, 0};
  lmf_status_t* status = api().config_get(host_handle(), to_view(json_pointer), &out);
  if (status != nullptr && api().status_code(status) == LMF_ERR_NOT_FOUND) {
    api().status_release(status);
    return std::nullopt;
  }
  check(status);
  return take_string(out);
}

// Another loaded component, e.g. a backend looking up the quantizer its config names.
inline const lmf_component& find_component(lmf_kind kind, std::string_view name) {
  const lmf_component* component = nullptr;
  check(api().find_component(host_handle(), kind, to_view(name), &component));
  return *component;
}

// A progress report on the host's terminal; ends when destroyed.
class Progress {
 public:
  Progress(std::string_view label, int64_t total, std::string_view unit)
      : handle_(api().progress_begin(host_handle(), to_view(label), total, to_view(unit))) {}
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress() {
    if (handle_ != nullptr) api().progress_end(handle_);
  }
  void advance(int64_t delta = 1) { api().progress_advance(handle_, delta); }

 private:
  lmf_progress_t* handle_;
};

}  // namespace lmf::sdk
