#include "train_options.h"

#include "byte_level.h"

#include <lmf/sdk/error.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <set>

namespace lmf::tokenizers::hf {
namespace {

using nlohmann::json;

constexpr std::array<const char*, 11> kFields = {
    "vocab_size", "min_frequency", "special_tokens", "initial_alphabet", "bos_token", "eos_token",
    "pad_token",  "unk_token",     "add_bos_token",  "add_eos_token",    "threads"};

[[noreturn]] void refuse(const std::string& field, const std::string& what) {
  lmf::sdk::fail(LMF_ERR_INVALID_ARGUMENT, "hf tokenizer train: \"" + field + "\": " + what);
}

std::string got(const json& value) {
  return "got " + value.dump();
}

uint64_t integer(const json& options, const char* field, uint64_t fallback, uint64_t max) {
  const auto found = options.find(field);
  if (found == options.end()) return fallback;
  if (!found->is_number_integer() || found->get<int64_t>() < 0 || found->get<uint64_t>() > max)
    refuse(field, "expected an integer from 0 to " + std::to_string(max) + ", " + got(*found));
  return found->get<uint64_t>();
}

bool boolean(const json& options, const char* field) {
  const auto found = options.find(field);
  if (found == options.end()) return false;
  if (!found->is_boolean()) refuse(field, "expected true or false, " + got(*found));
  return found->get<bool>();
}

std::vector<std::string> special_tokens(const json& options) {
  const auto found = options.find("special_tokens");
  if (found == options.end()) return {"<bos>", "<eos>", "<pad>", "<unk>"};
  if (!found->is_array()) refuse("special_tokens", "expected an array of strings, " + got(*found));
  std::vector<std::string> tokens;
  std::set<std::string> seen;
  for (const json& token : *found) {
    if (!token.is_string() || token.get_ref<const std::string&>().empty())
      refuse("special_tokens", "expected non-empty strings, " + got(token));
    if (!seen.insert(token.get<std::string>()).second)
      refuse("special_tokens", token.dump() + " is listed twice");
    tokens.push_back(token.get<std::string>());
  }
  return tokens;
}

// A role's token: as configured (it must be a special token), or by default the special
// token of the usual name, "<bos>" for bos_token…
std::optional<std::string> role(const json& options, const char* field, const char* usual,
                                const std::vector<std::string>& specials) {
  const auto found = options.find(field);
  const bool listed_usual = std::find(specials.begin(), specials.end(), usual) != specials.end();
  if (found == options.end())
    return listed_usual ? std::optional<std::string>(usual) : std::nullopt;
  if (found->is_null()) return std::nullopt;
  if (!found->is_string()) refuse(field, "expected a string or null, " + got(*found));
  const std::string token = found->get<std::string>();
  if (std::find(specials.begin(), specials.end(), token) == specials.end())
    refuse(field, "\"" + token + "\" is not one of special_tokens");
  return token;
}

// The tokens training starts from when every byte is in the alphabet: the special tokens,
// and the 256 byte symbols that are not also a special token.
size_t initial_vocabulary(const std::vector<std::string>& specials) {
  const ByteLevelAlphabet& alphabet = ByteLevelAlphabet::get();
  size_t size = specials.size();
  for (int byte = 0; byte < 256; ++byte)
    if (std::find(specials.begin(), specials.end(), alphabet.text_of(uint8_t(byte))) ==
        specials.end())
      ++size;
  return size;
}

}  // namespace

TrainOptions parse_train_options(const json& options) {
  if (!options.is_object())
    lmf::sdk::fail(LMF_ERR_INVALID_ARGUMENT,
                   "hf tokenizer train: the options must be a JSON object, " + got(options));
  for (const auto& [key, value] : options.items())
    if (std::find(kFields.begin(), kFields.end(), key) == kFields.end()) {
      std::string known;
      for (const char* field : kFields) known += (known.empty() ? "" : ", ") + std::string(field);
      refuse(key, "unknown option (known: " + known + ")");
    }

  TrainOptions parsed;
  BpeTrainerOptions& bpe = parsed.bpe;
  bpe.special_tokens = special_tokens(options);
  const auto alphabet = options.value("initial_alphabet", json("bytes"));
  if (alphabet != "bytes" && alphabet != "seen")
    refuse("initial_alphabet", "expected \"bytes\" or \"seen\", " + got(alphabet));
  bpe.byte_alphabet = alphabet == "bytes";

  if (!options.contains("vocab_size")) refuse("vocab_size", "required");
  const uint64_t vocab_size =
      integer(options, "vocab_size", 0, std::numeric_limits<int32_t>::max());
  if (bpe.byte_alphabet && vocab_size < initial_vocabulary(bpe.special_tokens))
    refuse("vocab_size", std::to_string(vocab_size) + " is smaller than the " +
                             std::to_string(bpe.special_tokens.size()) +
                             " special tokens and the 256 byte symbols it must hold (" +
                             std::to_string(initial_vocabulary(bpe.special_tokens)) + ")");
  bpe.vocab_size = static_cast<uint32_t>(vocab_size);
  bpe.min_frequency = integer(options, "min_frequency", 2, std::numeric_limits<int64_t>::max());
  parsed.threads = integer(options, "threads", 0, 1024);

  SpecialTokenRoles& roles = parsed.roles;
  roles.bos = role(options, "bos_token", "<bos>", bpe.special_tokens);
  roles.eos = role(options, "eos_token", "<eos>", bpe.special_tokens);
  roles.pad = role(options, "pad_token", "<pad>", bpe.special_tokens);
  roles.unk = role(options, "unk_token", "<unk>", bpe.special_tokens);
  roles.add_bos = boolean(options, "add_bos_token");
  roles.add_eos = boolean(options, "add_eos_token");
  if (roles.add_bos && !roles.bos) refuse("add_bos_token", "true, but there is no bos_token");
  if (roles.add_eos && !roles.eos) refuse("add_eos_token", "true, but there is no eos_token");
  return parsed;
}

}  // namespace lmf::tokenizers::hf
