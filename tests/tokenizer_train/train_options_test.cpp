// The options of the hf tokenizer's train call: defaults, and a message naming the field
// for each mistake.
#include "plugins/tokenizer/hf/train_options.h"

#include <lmf/sdk/error.h>

#include <gtest/gtest.h>

#include <string>

namespace lmf::tokenizers::hf {
namespace {

using nlohmann::json;

// The message parse_train_options refuses `options` with, or "" when it accepts them.
std::string refusal(const json& options) {
  try {
    parse_train_options(options);
    return "";
  } catch (const lmf::sdk::Error& e) {
    EXPECT_EQ(e.code(), LMF_ERR_INVALID_ARGUMENT) << e.what();
    return e.what();
  }
}

TEST(TrainOptions, Defaults) {
  const TrainOptions options = parse_train_options({{"vocab_size", 52000}});
  EXPECT_EQ(options.bpe.vocab_size, 52000u);
  EXPECT_EQ(options.bpe.min_frequency, 2u);
  EXPECT_TRUE(options.bpe.byte_alphabet);
  EXPECT_EQ(options.bpe.special_tokens,
            (std::vector<std::string>{"<bos>", "<eos>", "<pad>", "<unk>"}));
  EXPECT_EQ(options.roles.bos, "<bos>");
  EXPECT_EQ(options.roles.eos, "<eos>");
  EXPECT_EQ(options.roles.pad, "<pad>");
  EXPECT_EQ(options.roles.unk, "<unk>");
  EXPECT_FALSE(options.roles.add_bos);
  EXPECT_FALSE(options.roles.add_eos);
  EXPECT_EQ(options.threads, 0u);
}

TEST(TrainOptions, RolesFollowTheSpecialTokens) {
  const TrainOptions options = parse_train_options({{"vocab_size", 1000},
                                                    {"special_tokens", {"<s>", "</s>", "<unk>"}},
                                                    {"bos_token", "<s>"},
                                                    {"eos_token", "</s>"},
                                                    {"unk_token", nullptr},
                                                    {"add_bos_token", true}});
  EXPECT_EQ(options.roles.bos, "<s>");
  EXPECT_EQ(options.roles.eos, "</s>");
  EXPECT_FALSE(options.roles.pad) << "no <pad> among the special tokens";
  EXPECT_FALSE(options.roles.unk) << "null: no unk token";
  EXPECT_TRUE(options.roles.add_bos);
}

TEST(TrainOptions, VocabSizeMustHoldTheSpecialTokensAndTheBytes) {
  EXPECT_EQ(refusal(json::object()), "hf tokenizer train: \"vocab_size\": required");
  EXPECT_EQ(refusal({{"vocab_size", 259}}),
            "hf tokenizer train: \"vocab_size\": 259 is smaller than the 4 special tokens and "
            "the 256 byte symbols it must hold (260)");
  EXPECT_EQ(refusal({{"vocab_size", 260}}), "");
  // A special token that is itself a byte symbol is one token, not two.
  EXPECT_EQ(refusal({{"vocab_size", 256}, {"special_tokens", {"!"}}}), "");
  // With the alphabet of the corpus, the trainer checks once it knows the alphabet.
  EXPECT_EQ(refusal({{"vocab_size", 10}, {"initial_alphabet", "seen"}}), "");
  EXPECT_EQ(refusal({{"vocab_size", -1}}),
            "hf tokenizer train: \"vocab_size\": expected an integer from 0 to 2147483647, got -1");
  EXPECT_EQ(refusal({{"vocab_size", "52K"}}),
            "hf tokenizer train: \"vocab_size\": expected an integer from 0 to 2147483647, got "
            "\"52K\"");
}

TEST(TrainOptions, SpecialTokensAreDistinctNonEmptyStrings) {
  EXPECT_EQ(refusal({{"vocab_size", 1000}, {"special_tokens", {"<a>", "<b>", "<a>"}}}),
            "hf tokenizer train: \"special_tokens\": \"<a>\" is listed twice");
  EXPECT_EQ(refusal({{"vocab_size", 1000}, {"special_tokens", {"<a>", ""}}}),
            "hf tokenizer train: \"special_tokens\": expected non-empty strings, got \"\"");
  EXPECT_EQ(refusal({{"vocab_size", 1000}, {"special_tokens", "<a>"}}),
            "hf tokenizer train: \"special_tokens\": expected an array of strings, got \"<a>\"");
  EXPECT_EQ(refusal({{"vocab_size", 1000}, {"special_tokens", json::array()}}), "");
}

TEST(TrainOptions, RolesMustNameASpecialToken) {
  EXPECT_EQ(refusal({{"vocab_size", 1000}, {"bos_token", "<s>"}}),
            "hf tokenizer train: \"bos_token\": \"<s>\" is not one of special_tokens");
  EXPECT_EQ(
      refusal({{"vocab_size", 1000}, {"special_tokens", json::array()}, {"add_bos_token", true}}),
      "hf tokenizer train: \"add_bos_token\": true, but there is no bos_token");
  EXPECT_EQ(refusal({{"vocab_size", 1000}, {"eos_token", nullptr}, {"add_eos_token", true}}),
            "hf tokenizer train: \"add_eos_token\": true, but there is no eos_token");
}

TEST(TrainOptions, UnknownOptionsAndWrongTypesAreNamed) {
  EXPECT_EQ(refusal({{"vocab_size", 1000}, {"vocab", 1000}}),
            "hf tokenizer train: \"vocab\": unknown option (known: vocab_size, min_frequency, "
            "special_tokens, initial_alphabet, bos_token, eos_token, pad_token, unk_token, "
            "add_bos_token, add_eos_token, threads)");
  EXPECT_EQ(refusal({{"vocab_size", 1000}, {"initial_alphabet", "all"}}),
            "hf tokenizer train: \"initial_alphabet\": expected \"bytes\" or \"seen\", got "
            "\"all\"");
  EXPECT_EQ(refusal({{"vocab_size", 1000}, {"add_bos_token", "yes"}}),
            "hf tokenizer train: \"add_bos_token\": expected true or false, got \"yes\"");
  EXPECT_EQ(refusal({{"vocab_size", 1000}, {"min_frequency", 1.5}}),
            "hf tokenizer train: \"min_frequency\": expected an integer from 0 to "
            "9223372036854775807, got 1.5");
  EXPECT_EQ(refusal(json::array()),
            "hf tokenizer train: the options must be a JSON object, got []");
}

}  // namespace
}  // namespace lmf::tokenizers::hf
