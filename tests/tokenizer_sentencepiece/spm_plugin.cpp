#include "tests/tokenizer_sentencepiece/spm_plugin.h"

#include <cstdlib>

namespace lmf::testing::sentencepiece {

std::filesystem::path tokenizer_fixtures() {
  return std::filesystem::path(LMF_TEST_FIXTURES_DIR) / "tokenizers";
}
std::filesystem::path fixtures() {
  return tokenizer_fixtures() / "sentencepiece";
}
std::filesystem::path tokenizer_cache() {
  const char* cache = std::getenv("LMF_TOKENIZER_CACHE");
  return cache != nullptr && *cache ? cache : LMF_TOKENIZER_CACHE_DIR;
}
std::filesystem::path llama2_model() {
  return tokenizer_cache() / "llama2_spm" / "tokenizer.model";
}

SpmPlugin::SpmPlugin() {
  registry_.load_file(LMF_SENTENCEPIECE_PLUGIN);
  component_ = registry_.require(LMF_KIND_TOKENIZER, "sentencepiece");
}

}  // namespace lmf::testing::sentencepiece
