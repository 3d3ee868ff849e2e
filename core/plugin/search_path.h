// Note [Plugin search path]
// Where the host looks for plugins, first match of a plugin name wins:
//   1. `plugin_paths` of the pipeline configuration (relative to the file naming them),
//   2. LMFORGE_PLUGIN_PATH (colon-separated folders),
//   3. the folder beside the executable: <prefix>/lib/lmforge/plugins for <prefix>/bin/
//      (the build tree has the same shape), or else the build tree's plugin folder.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace lmf::plugin {

std::vector<std::filesystem::path> plugin_search_path(
    const std::vector<std::filesystem::path>& config_paths);

// Splits a colon-separated list, dropping empty entries.
std::vector<std::filesystem::path> split_path_list(const std::string& list);

}  // namespace lmf::plugin
