#include "added_tokens.h"

#include <algorithm>

namespace lmf::tokenizers::spm {

AddedTokens::AddedTokens(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
  std::erase_if(tokens_, [](const AddedToken& token) { return token.content.empty(); });
  for (uint32_t i = 0; i < tokens_.size(); ++i)
    by_first_byte_[static_cast<unsigned char>(tokens_[i].content.front())].push_back(i);
  for (std::vector<uint32_t>& candidates : by_first_byte_)
    std::stable_sort(candidates.begin(), candidates.end(), [this](uint32_t a, uint32_t b) {
      return tokens_[a].content.size() > tokens_[b].content.size();
    });
}

const AddedToken* AddedTokens::longest_at(std::string_view text, size_t at) const {
  for (const uint32_t index : by_first_byte_[static_cast<unsigned char>(text[at])]) {
    const AddedToken& token = tokens_[index];
    if (text.compare(at, token.content.size(), token.content) == 0) return &token;
  }
  return nullptr;
}

}  // namespace lmf::tokenizers::spm
