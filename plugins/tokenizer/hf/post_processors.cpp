#include "post_processors.h"

namespace lmf::tokenizers::hf {
namespace {

class TemplatePostProcessor final : public PostProcessor {
 public:
  explicit TemplatePostProcessor(std::vector<TemplateItem> single) : single_(std::move(single)) {}
  void add_special_tokens(std::vector<int32_t>& ids) const override {
    std::vector<int32_t> out;
    out.reserve(ids.size() + 4);
    for (const TemplateItem& item : single_) {
      if (item.is_sequence)
        out.insert(out.end(), ids.begin(), ids.end());
      else
        out.insert(out.end(), item.ids.begin(), item.ids.end());
    }
    ids.swap(out);
  }

 private:
  std::vector<TemplateItem> single_;
};

class IdentityPostProcessor final : public PostProcessor {
 public:
  void add_special_tokens(std::vector<int32_t>&) const override {}
};

class SequencePostProcessor final : public PostProcessor {
 public:
  explicit SequencePostProcessor(std::vector<std::unique_ptr<PostProcessor>> processors)
      : processors_(std::move(processors)) {}
  void add_special_tokens(std::vector<int32_t>& ids) const override {
    for (const auto& processor : processors_) processor->add_special_tokens(ids);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> processors_;
};

}  // namespace

std::unique_ptr<PostProcessor> make_template_post_processor(std::vector<TemplateItem> single) {
  return std::make_unique<TemplatePostProcessor>(std::move(single));
}
std::unique_ptr<PostProcessor> make_identity_post_processor() {
  return std::make_unique<IdentityPostProcessor>();
}
std::unique_ptr<PostProcessor> make_sequence_post_processor(
    std::vector<std::unique_ptr<PostProcessor>> processors) {
  return std::make_unique<SequencePostProcessor>(std::move(processors));
}

}  // namespace lmf::tokenizers::hf
