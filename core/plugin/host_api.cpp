#include "core/plugin/host_api.h"

#include "core/plugin/host_services.h"
#include "core/plugin/loaded_plugin.h"
#include "core/plugin/registry.h"
#include "core/plugin/status.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

struct lmf_progress {
  lmf::plugin::HostServices* services;
  uint64_t task;
};

namespace lmf::plugin {
namespace {

std::string_view view(lmf_str_view text) {
  return text.data == nullptr ? std::string_view{} : std::string_view{text.data, text.size};
}

lmf_status_t* status_create(lmf_status_code code, lmf_str_view message) {
  return make_status(code, view(message));
}
lmf_status_code status_code(const lmf_status_t* status) {
  return status->code;
}
const char* status_message(const lmf_status_t* status) {
  return status->message.c_str();
}

void* allocate(size_t size, size_t alignment) {
  if (alignment == 0) alignment = 16;
  if ((alignment & (alignment - 1)) != 0) return nullptr;
  if (alignment < sizeof(void*)) alignment = sizeof(void*);
  void* block = nullptr;
  if (posix_memalign(&block, alignment, size == 0 ? 1 : size) != 0) return nullptr;
  return block;
}
void deallocate(void* block) {
  std::free(block);
}

// Note [Host-made tensors]
// Header, shape and data live in one allocation whose deleter is this host function, so a
// tensor may cross plugins and outlive the plugin that asked for it.
lmf_status_t* tensor_alloc(DLDataType dtype, int32_t ndim, const int64_t* shape,
                           DLManagedTensor** out) {
  if (ndim < 0 || (ndim > 0 && shape == nullptr))
    return make_status(LMF_ERR_INVALID_ARGUMENT, "tensor_alloc: bad rank or NULL shape");
  size_t count = 1;
  for (int32_t i = 0; i < ndim; ++i) {
    if (shape[i] < 0)
      return make_status(LMF_ERR_INVALID_ARGUMENT,
                         "tensor_alloc: negative extent " + std::to_string(shape[i]));
    count *= static_cast<size_t>(shape[i]);
  }
  const size_t element_bytes = (static_cast<size_t>(dtype.bits) * dtype.lanes + 7) / 8;
  const size_t header = sizeof(DLManagedTensor) + static_cast<size_t>(ndim) * sizeof(int64_t);
  const size_t data_offset = (header + 63) / 64 * 64;
  const size_t total = data_offset + count * element_bytes;
  auto* block = static_cast<char*>(allocate(total, 64));
  if (block == nullptr) return make_status(LMF_ERR_OUT_OF_MEMORY, "tensor_alloc: out of memory");
  std::memset(block, 0, total);
  auto* managed = reinterpret_cast<DLManagedTensor*>(block);
  auto* extents = reinterpret_cast<int64_t*>(block + sizeof(DLManagedTensor));
  if (ndim > 0) std::memcpy(extents, shape, static_cast<size_t>(ndim) * sizeof(int64_t));
  managed->dl_tensor = DLTensor{block + data_offset, {kDLCPU, 0}, ndim, dtype, extents, nullptr, 0};
  managed->manager_ctx = nullptr;
  managed->deleter = [](DLManagedTensor* self) { std::free(self); };
  *out = managed;
  return nullptr;
}

void log(lmf_host_t* host, lmf_log_level level, lmf_str_view message) {
  host->services->log(level, host->source, view(message));
}

void metric(lmf_host_t* host, lmf_str_view name, double value, int64_t step) {
  host->services->metric(host->source, view(name), value, step);
}

lmf_progress_t* progress_begin(lmf_host_t* host, lmf_str_view label, int64_t total,
                               lmf_str_view unit) {
  uint64_t task = host->services->progress_begin(host->source, view(label), total, view(unit));
  return new (std::nothrow) lmf_progress{host->services, task};
}
void progress_advance(lmf_progress_t* progress, int64_t delta) {
  if (progress != nullptr) progress->services->progress_advance(progress->task, delta);
}
void progress_end(lmf_progress_t* progress) {
  if (progress == nullptr) return;
  progress->services->progress_end(progress->task);
  delete progress;
}

int32_t is_cancelled(lmf_host_t* host) {
  return host->services->cancelled() ? 1 : 0;
}

lmf_status_t* config_get(lmf_host_t* host, lmf_str_view json_pointer, lmf_string* out) {
  try {
    std::optional<std::string> value = host->services->config_value(view(json_pointer));
    if (!value)
      return make_status(LMF_ERR_NOT_FOUND, "the configuration has nothing at \"" +
                                                std::string(view(json_pointer)) + "\"");
    auto* data = static_cast<char*>(allocate(value->size() + 1, 0));
    if (data == nullptr) return make_status(LMF_ERR_OUT_OF_MEMORY, "config_get: out of memory");
    std::memcpy(data, value->c_str(), value->size() + 1);
    *out = lmf_string{data, value->size()};
    return nullptr;
  } catch (const std::exception& e) {
    return make_status(LMF_ERR_INTERNAL, e.what());
  }
}

lmf_status_t* find_component(lmf_host_t* host, lmf_kind kind, lmf_str_view name,
                             const lmf_component** out) {
  try {
    if (host->registry == nullptr)
      return make_status(LMF_ERR_NOT_FOUND, "find_component: the host's registry is gone");
    ComponentRef found = host->registry->require(kind, view(name));
    {
      // Keep the provider loaded as long as the caller (Note [Unload order]).
      std::lock_guard lock(host->dependencies_mutex);
      if (found.plugin->host() != host &&
          std::find(host->dependencies.begin(), host->dependencies.end(), found.plugin) ==
              host->dependencies.end())
        host->dependencies.push_back(found.plugin);
    }
    *out = found.component;
    return nullptr;
  } catch (const PluginError& e) {
    return make_status(e.code(), e.what());
  } catch (const std::exception& e) {
    return make_status(LMF_ERR_INTERNAL, e.what());
  }
}

const lmf_host_api table{
    sizeof(lmf_host_api),
    LMF_ABI_MAJOR,
    LMF_ABI_MINOR,
    &status_create,
    &status_code,
    &status_message,
    &release_status,
    &allocate,
    &deallocate,
    &tensor_alloc,
    &log,
    &metric,
    &progress_begin,
    &progress_advance,
    &progress_end,
    &is_cancelled,
    &config_get,
    &find_component,
};

}  // namespace

const lmf_host_api* host_api() noexcept {
  return &table;
}

}  // namespace lmf::plugin
