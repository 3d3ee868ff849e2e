// What the host offers plugins at run time (logging, metrics, progress, cancellation,
// configuration), as an interface, so that the loader does not depend on how a run wires
// them (core/pipeline/run_services.h does; tests use small fakes).
#pragma once

#include <lmf/lmf.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lmf::plugin {

class HostServices {
 public:
  virtual ~HostServices() = default;
  // `source` is the plugin's name (or its file, before its descriptor is read).
  virtual void log(lmf_log_level level, std::string_view source, std::string_view message) = 0;
  virtual void metric(std::string_view source, std::string_view name, double value,
                      int64_t step) = 0;
  // Progress tasks are named by ids the services choose.
  virtual uint64_t progress_begin(std::string_view source, std::string_view label, int64_t total,
                                  std::string_view unit) = 0;
  virtual void progress_advance(uint64_t task, int64_t delta) = 0;
  virtual void progress_end(uint64_t task) = 0;
  virtual bool cancelled() = 0;
  // The composed configuration's value at a JSON pointer, serialized; nullopt if absent.
  virtual std::optional<std::string> config_value(std::string_view json_pointer) = 0;
};

}  // namespace lmf::plugin
