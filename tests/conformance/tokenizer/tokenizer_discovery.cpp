#include "tests/conformance/tokenizer/tokenizer_discovery.h"

#include "core/plugin/search_path.h"

#include <cstdlib>

namespace lmf::conformance::tokenizer {

std::filesystem::path fixtures_dir() {
  return std::filesystem::path(LMF_TEST_FIXTURES_DIR) / "tokenizers";
}
std::filesystem::path cache_dir() {
  if (const char* dir = std::getenv("LMF_TOKENIZER_CACHE"); dir != nullptr && *dir) return dir;
  return LMF_TOKENIZER_CACHE_DIR;
}
std::filesystem::path work_dir() {
  return LMF_TOKENIZER_WORK_DIR;
}

Discovery::Discovery() {
  if (const char* file = std::getenv("LMF_CONFORMANCE_PLUGIN"); file != nullptr && *file) {
    single_plugin = true;
    searched = file;
    try {
      registry.load_file(file);
    } catch (const std::exception& e) {
      problem = std::string("LMF_CONFORMANCE_PLUGIN: ") + e.what();
    }
    return;
  }
  for (const std::filesystem::path& folder : plugin::plugin_search_path({}))
    searched += (searched.empty() ? "" : ":") + folder.string();
  registry.load_directories(plugin::plugin_search_path({}));
}

std::optional<plugin::ComponentRef> Discovery::tokenizer(const std::string& name) const {
  return registry.find(LMF_KIND_TOKENIZER, name);
}

Discovery& discovery() {
  static Discovery found;
  return found;
}

}  // namespace lmf::conformance::tokenizer
