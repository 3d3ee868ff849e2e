#include "core/plugin/status.h"

#include <new>

namespace lmf::plugin {
namespace {

// Returned when even a status cannot be allocated; never released (Note [Ownership]).
lmf_status out_of_memory_status{LMF_ERR_OUT_OF_MEMORY, "out of memory"};

}  // namespace

lmf_status_t* make_status(lmf_status_code code, std::string_view message) noexcept {
  try {
    return new lmf_status{code, std::string(message)};
  } catch (...) {
    return &out_of_memory_status;
  }
}

void release_status(lmf_status_t* status) noexcept {
  if (status != nullptr && status != &out_of_memory_status) delete status;
}

void check_status(lmf_status_t* status, std::string_view context) {
  if (status == nullptr) return;
  lmf_status_code code = status->code;
  std::string message = std::string(context) + ": " + status->message;
  release_status(status);
  throw PluginError(code, message);
}

const char* status_code_name(lmf_status_code code) noexcept {
  switch (code) {
    case LMF_OK:
      return "ok";
    case LMF_ERR_INVALID_ARGUMENT:
      return "invalid argument";
    case LMF_ERR_NOT_FOUND:
      return "not found";
    case LMF_ERR_UNSUPPORTED:
      return "unsupported";
    case LMF_ERR_CANCELLED:
      return "cancelled";
    case LMF_ERR_IO:
      return "I/O error";
    case LMF_ERR_DATA:
      return "bad data";
    case LMF_ERR_OUT_OF_MEMORY:
      return "out of memory";
    case LMF_ERR_ABI:
      return "ABI mismatch";
    case LMF_ERR_INTERNAL:
      return "internal error";
    default:
      return "unknown status";
  }
}

}  // namespace lmf::plugin
