// Note [Plugin search path]
// Where the host looks for plugins, in this order; when two folders hold a plugin of the
// same name, the first one found wins and the later one is skipped ("shadowed"):
//   1. folders given by the host: `--plugin-path` on the command line, then `plugin_paths`
//      of the pipeline configuration (relative to the file naming them),
//   2. LMFORGE_PLUGIN_PATH (colon-separated folders),
//   3. the folder beside the executable: <prefix>/<libdir>/lmforge/plugins for
//      <prefix>/bin/ (the build tree has the same shape, libdir "lib"), or else the build
//      tree's plugin folder compiled into the host.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace lmf::plugin {

// `host_folders` come first (item 1 of the Note).
std::vector<std::filesystem::path> plugin_search_path(
    const std::vector<std::filesystem::path>& host_folders);

// Splits a colon-separated list, dropping empty entries.
std::vector<std::filesystem::path> split_path_list(const std::string& list);

}  // namespace lmf::plugin
