// Where the tokenizer suite finds its components and files: the plugins (the build's plugin
// folder, or LMF_CONFORMANCE_PLUGIN=<file.so>), the fixtures, the fetched tokenizers
// (LMF_TOKENIZER_CACHE, default .cache/tokenizers) and a folder for files it writes.
#pragma once

#include "core/plugin/registry.h"
#include "tests/support/recording_services.h"

#include <filesystem>
#include <optional>
#include <string>

namespace lmf::conformance::tokenizer {

std::filesystem::path fixtures_dir();
std::filesystem::path cache_dir();
std::filesystem::path work_dir();

struct Discovery {
  lmf::testing::RecordingServices services;
  plugin::PluginRegistry registry{services};
  std::string searched;        // where plugins were looked for, for messages
  std::string problem;         // why LMF_CONFORMANCE_PLUGIN could not be used
  bool single_plugin = false;  // LMF_CONFORMANCE_PLUGIN is set

  Discovery();
  std::optional<plugin::ComponentRef> tokenizer(const std::string& name) const;
};

// Loaded once per process.
Discovery& discovery();

}  // namespace lmf::conformance::tokenizer
