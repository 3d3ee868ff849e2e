// The options of the hf tokenizer's train call (lmf_tokenizer_vtable::train), read from
// JSON with messages that name the field at fault (docs/tokenizers.md lists them).
#pragma once

#include "bpe_trainer.h"
#include "tokenizer_json_writer.h"

#include <nlohmann/json.hpp>

namespace lmf::tokenizers::hf {

struct TrainOptions {
  BpeTrainerOptions bpe;
  SpecialTokenRoles roles;
  size_t threads = 0;  // for counting words; 0: one per core
};

// Throws lmf::sdk::Error(LMF_ERR_INVALID_ARGUMENT) naming the field, the expected value and
// what it got.
TrainOptions parse_train_options(const nlohmann::json& options);

}  // namespace lmf::tokenizers::hf
