// The host's API table (lmf_host_api) as this host implements it.
#pragma once

#include <lmf/lmf.h>

namespace lmf::plugin {

// The one table handed to every plugin; static storage, valid for the process's life.
const lmf_host_api* host_api() noexcept;

}  // namespace lmf::plugin
