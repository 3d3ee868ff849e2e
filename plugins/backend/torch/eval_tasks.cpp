#include "eval_tasks.h"

#include "evaluation.h"
#include "token_shards.h"

#include <lmf/sdk/error.h>
#include <lmf/sdk/host.h>

#include <cmath>
#include <fstream>

namespace lmf::torch_backend {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  sdk::fail(LMF_ERR_INVALID_ARGUMENT, "evaluate: field \"" + field + "\" " + what);
}

std::vector<int64_t> id_list(const json& value, const std::string& field, int64_t vocab) {
  if (!value.is_array()) bad(field, "must be a list of token ids");
  std::vector<int64_t> ids;
  for (const json& id : value) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= vocab)
      bad(field, "holds " + id.dump() + ", not a token id of this model (vocabulary " +
                     std::to_string(vocab) + ")");
    ids.push_back(id.get<int64_t>());
  }
  return ids;
}

// The documents a perplexity request names: "ids", "text", "jsonl" (+ "field") or "shards"
// (+ "split"); each is scored on its own (documents do not see each other).
std::vector<std::vector<int64_t>> documents(LoadedModel& model, const json& request,
                                            std::string& source) {
  const int64_t vocab = model.config.vocab_size;
  std::vector<std::vector<int64_t>> docs;
  if (request.contains("ids")) {
    source = "ids";
    docs.push_back(id_list(request["ids"], "ids", vocab));
  } else if (request.contains("text")) {
    if (!request["text"].is_string()) bad("text", "must be a string");
    source = "text";
    docs.push_back(model.require_tokenizer("evaluating text").encode(request["text"].get<std::string>(), true));
  } else if (request.contains("jsonl")) {
    const std::string path = request["jsonl"].get<std::string>();
    const std::string field = request.value("field", std::string("text"));
    source = path;
    std::ifstream in(path);
    if (!in) sdk::fail(LMF_ERR_NOT_FOUND, path + ": cannot open");
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      json record;
      try {
        record = json::parse(line);
      } catch (const json::parse_error& e) {
        sdk::fail(LMF_ERR_DATA, path + ":" + std::to_string(number) + ": not valid JSON: " + e.what());
      }
      if (!record.contains(field) || !record[field].is_string())
        sdk::fail(LMF_ERR_DATA, path + ":" + std::to_string(number) + ": no string field \"" + field + "\"");
      docs.push_back(model.require_tokenizer("evaluating jsonl").encode(record[field].get<std::string>(), true));
    }
  } else if (request.contains("shards")) {
    const std::string folder = request["shards"].get<std::string>();
    const std::string split = request.value("split", std::string("validation"));
    source = folder + " (" + split + ")";
    TokenShards shards(folder, split);
    if (shards.vocab_size() > vocab)
      sdk::fail(LMF_ERR_DATA, folder + ": shards were tokenized with a vocabulary of " +
                                  std::to_string(shards.vocab_size()) + " ids; the model has " +
                                  std::to_string(vocab));
    for (int64_t i = 0; i < shards.documents(); ++i) docs.push_back(shards.document(i));
  } else {
    bad("ids", "is missing: a perplexity needs one of ids, text, jsonl, shards");
  }
  return docs;
}

json perplexity(LoadedModel& model, const json& request) {
  const int64_t context = model.config.max_position_embeddings;
  const int64_t max_length = request.value("max_length", std::min<int64_t>(context, 2048));
  const int64_t stride = request.value("stride", std::max<int64_t>(1, max_length / 2));
  if (max_length > context) bad("max_length", "exceeds the model's context of " + std::to_string(context));
  const int64_t max_documents = request.value("max_documents", int64_t{0});
  std::string source;
  std::vector<std::vector<int64_t>> docs = documents(model, request, source);
  if (max_documents > 0 && static_cast<int64_t>(docs.size()) > max_documents) docs.resize(max_documents);
  sdk::Progress progress("perplexity", static_cast<int64_t>(docs.size()), "documents");
  NllSum total;
  for (const std::vector<int64_t>& doc : docs) {
    sdk::throw_if_cancelled();
    NllSum part = sliding_window_nll(*model.decoder, doc, max_length, stride);
    total.nll += part.nll;
    total.tokens += part.tokens;
    progress.advance();
  }
  if (total.tokens == 0) sdk::fail(LMF_ERR_DATA, "evaluate: " + source + " has no token to score (documents of one token or none)");
  const double mean = total.nll / static_cast<double>(total.tokens);
  sdk::metric("eval/perplexity", std::exp(mean), 0);
  return {{"task", "perplexity"}, {"source", source}, {"documents", docs.size()},
          {"scored_tokens", total.tokens}, {"nll_sum", total.nll}, {"mean_nll", mean},
          {"perplexity", std::exp(mean)}, {"max_length", max_length}, {"stride", stride}};
}

// A continuation's ids after a context, as lm-evaluation-harness splits them: encode
// context + continuation together and take what follows the context's ids, so that a
// merge across the boundary is scored as the model would see the text.
std::pair<std::vector<int64_t>, std::vector<int64_t>> split_text(const TokenizerClient& tokenizer,
                                                                 const std::string& context,
                                                                 const std::string& continuation) {
  std::vector<int64_t> ctx = tokenizer.encode(context, true);
  std::vector<int64_t> whole = tokenizer.encode(context + continuation, true);
  if (whole.size() > ctx.size() && std::equal(ctx.begin(), ctx.end(), whole.begin()))
    return {ctx, std::vector<int64_t>(whole.begin() + static_cast<long>(ctx.size()), whole.end())};
  return {ctx, tokenizer.encode(continuation, false)};
}

json score(LoadedModel& model, const json& request) {
  if (!request.contains("items") || !request["items"].is_array()) bad("items", "must be a list of {context, candidates}");
  const int64_t vocab = model.config.vocab_size;
  json results = json::array();
  int64_t correct = 0, labelled = 0;
  const json& items = request["items"];
  sdk::Progress progress("score", static_cast<int64_t>(items.size()), "items");
  for (size_t i = 0; i < items.size(); ++i) {
    sdk::throw_if_cancelled();
    const json& item = items[i];
    const std::string at = "items[" + std::to_string(i) + "]";
    if (!item.contains("context") || !item.contains("candidates") || !item["candidates"].is_array() ||
        item["candidates"].empty())
      bad(at, "needs a context and a non-empty list of candidates");
    json logprobs = json::array(), tokens = json::array();
    for (size_t c = 0; c < item["candidates"].size(); ++c) {
      const json& candidate = item["candidates"][c];
      std::vector<int64_t> ctx, cont;
      if (item["context"].is_string() && candidate.is_string()) {
        std::tie(ctx, cont) = split_text(model.require_tokenizer("scoring text"),
                                         item["context"].get<std::string>(), candidate.get<std::string>());
      } else {
        ctx = id_list(item["context"], at + ".context", vocab);
        cont = id_list(candidate, at + ".candidates[" + std::to_string(c) + "]", vocab);
      }
      logprobs.push_back(continuation_logprob(*model.decoder, ctx, cont));
      tokens.push_back(cont.size());
    }
    size_t best = 0;
    for (size_t c = 1; c < logprobs.size(); ++c)
      if (logprobs[c].get<double>() > logprobs[best].get<double>()) best = c;
    json result = {{"logprobs", logprobs}, {"tokens", tokens}, {"best", best}};
    if (item.contains("id")) result["id"] = item["id"];
    if (item.contains("label")) {
      ++labelled;
      const bool right = item["label"] == item["candidates"][best] || item["label"] == json(best);
      correct += right;
      result["correct"] = right;
    }
    results.push_back(result);
    progress.advance();
  }
  json summary = {{"task", "score"}, {"items", results}};
  if (labelled > 0) summary["accuracy"] = static_cast<double>(correct) / static_cast<double>(labelled);
  return summary;
}

}  // namespace

json run_evaluation(LoadedModel& model, const json& request) {
  if (!request.is_object()) sdk::fail(LMF_ERR_INVALID_ARGUMENT, "evaluate: the request must be a JSON object");
  const std::string task = request.value("task", std::string("perplexity"));
  if (task == "perplexity") return perplexity(model, request);
  if (task == "score") return score(model, request);
  bad("task", "is \"" + task + "\"; the tasks are perplexity and score");
}

}  // namespace lmf::torch_backend
