// Post-processors of tokenizer.json, for a single sequence: TemplateProcessing, Roberta,
// Bert, ByteLevel (ids unchanged) and Sequence. They add the special tokens when the
// caller asks for them (LMF_TOKENIZE_ADD_SPECIAL, HF's add_special_tokens=True).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace lmf::tokenizers::hf {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Rewrites the ids of one sequence; called only when special tokens are wanted.
  virtual void add_special_tokens(std::vector<int32_t>& ids) const = 0;
};

// The single-sequence template as a list of items: ids of a special token, or the
// sequence itself (an empty `ids`).
struct TemplateItem {
  std::vector<int32_t> ids;
  bool is_sequence = false;
};

std::unique_ptr<PostProcessor> make_template_post_processor(std::vector<TemplateItem> single);
// ByteLevel's post-processor only trims offsets, which ids do not carry.
std::unique_ptr<PostProcessor> make_identity_post_processor();
std::unique_ptr<PostProcessor> make_sequence_post_processor(
    std::vector<std::unique_ptr<PostProcessor>> processors);

}  // namespace lmf::tokenizers::hf
