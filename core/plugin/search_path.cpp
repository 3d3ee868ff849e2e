#include "core/plugin/search_path.h"

#include <boost/dll/runtime_symbol_info.hpp>

#include <cstdlib>
#include <sstream>

namespace lmf::plugin {
namespace fs = std::filesystem;

std::vector<fs::path> split_path_list(const std::string& list) {
  std::vector<fs::path> folders;
  std::stringstream stream(list);
  std::string item;
  while (std::getline(stream, item, ':'))
    if (!item.empty()) folders.emplace_back(item);
  return folders;
}

std::vector<fs::path> plugin_search_path(const std::vector<fs::path>& host_folders) {
  std::vector<fs::path> folders = host_folders;
  if (const char* env = std::getenv("LMFORGE_PLUGIN_PATH")) {
    for (fs::path& folder : split_path_list(env)) folders.push_back(std::move(folder));
  }
  std::error_code error;
  fs::path prefix = boost::dll::program_location(error).parent_path().parent_path();
  // The install layout (libdir may be lib/x86_64-linux-gnu on Debian) and the build
  // tree's, which mirrors the install layout with libdir "lib".
  std::vector<fs::path> beside{prefix / LMF_PLUGIN_INSTALL_SUBDIR,
                               prefix / "lib" / "lmforge" / "plugins"};
  bool found_beside = false;
  for (const fs::path& folder : beside) {
    if (!error && fs::is_directory(folder, error)) {
      folders.push_back(folder);
      found_beside = true;
    }
  }
#ifdef LMF_PLUGIN_BUILD_DIR
  // An executable outside an install or build tree's bin/ (e.g. a test binary elsewhere).
  if (!found_beside) folders.emplace_back(LMF_PLUGIN_BUILD_DIR);
#endif
  // The same folder twice would only produce "already loaded" noise.
  std::vector<fs::path> unique;
  for (const fs::path& folder : folders) {
    fs::path normal = folder.lexically_normal();
    bool seen = false;
    for (const fs::path& kept : unique)
      seen = seen || fs::equivalent(kept, normal, error) || kept == normal;
    if (!seen) unique.push_back(normal);
  }
  return unique;
}

}  // namespace lmf::plugin
