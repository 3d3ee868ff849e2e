// The data.prepare stage run as `lmforge run` runs it (prepare_pipeline + run_pipeline),
// with the fixture plugin's list_source and byte_tokenizer (tests/hosts/fixtures). What
// the shards must hold is computed here from the texts: a document is <bos>, the text's
// bytes, then <eos>; the split follows the rule of docs/data-format.md, reimplemented here.
#include "core/config/compose.h"
#include "tests/support/temp_dir.h"
#include "core/data/shard_reader.h"
#include "core/pipeline/pipeline.h"
#include "core/pipeline/run_services.h"
#include "core/pipeline/runner.h"
#include "core/plugin/registry.h"
#include "core/services/cancellation.h"
#include "core/services/log.h"
#include "core/services/progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#ifndef LMF_TEST_PLUGIN_DIR
#error "LMF_TEST_PLUGIN_DIR must name the folder of the lmforge-test-stages plugin"
#endif

namespace lmf::data {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using pipeline::RunOutcome;
using pipeline::RunResult;

constexpr int32_t kBos = 256;
constexpr int32_t kEos = 257;

using lmf::testing::Contains;

using lmf::testing::TempDir;

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

json read_manifest_json(const fs::path& output) {
  return json::parse(read_text(output / "manifest.json"));
}

// Every file under `folder` (relative path -> contents).
std::map<std::string, std::string> snapshot(const fs::path& folder) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(folder))
    if (entry.is_regular_file())
      files[fs::relative(entry.path(), folder).string()] = read_text(entry.path());
  return files;
}

// The split rule as docs/data-format.md states it.
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

bool in_validation(uint64_t record_id, uint64_t seed, double fraction) {
  if (fraction <= 0) return false;
  const uint64_t top53 = splitmix64(record_id ^ splitmix64(seed)) >> 11;
  return static_cast<double>(top53) / 9007199254740992.0 < fraction;  // 2^53
}

// list_source's records: text i % texts, every drop_every-th dropped.
struct Source {
  std::vector<std::string> texts;
  uint64_t repeat = 1;
  uint64_t drop_every = 0;

  json config() const { return {{"texts", texts}, {"repeat", repeat}, {"drop_every", drop_every}}; }
  uint64_t total() const { return texts.size() * repeat; }
  bool dropped(uint64_t id) const { return drop_every > 0 && id % drop_every == drop_every - 1; }
  // Kept records in id order.
  std::vector<uint64_t> kept() const {
    std::vector<uint64_t> ids;
    for (uint64_t id = 0; id < total(); ++id)
      if (!dropped(id)) ids.push_back(id);
    return ids;
  }
  const std::string& text(uint64_t id) const { return texts[id % texts.size()]; }
};

struct Document {
  uint64_t record_id;
  std::vector<int32_t> ids;
  friend bool operator==(const Document&, const Document&) = default;
};
using Splits = std::map<std::string, std::vector<Document>>;

std::ostream& operator<<(std::ostream& out, const Document& document) {
  out << "record " << document.record_id << ": [";
  for (int32_t id : document.ids) out << id << " ";
  return out << "]";
}

struct Expectation {
  uint64_t seed = 0;
  double fraction = 0.01;
  bool bos = true;
  bool eos = false;
  uint64_t below = UINT64_MAX;  // only records with smaller ids
};

std::vector<int32_t> expected_ids(const std::string& text, const Expectation& e) {
  std::vector<int32_t> ids;
  if (e.bos) ids.push_back(kBos);
  for (unsigned char byte : text) ids.push_back(byte);
  if (e.eos) ids.push_back(kEos);
  return ids;
}

Splits expected_splits(const Source& source, const Expectation& e) {
  Splits splits;
  for (uint64_t id : source.kept()) {
    if (id >= e.below) break;
    std::vector<int32_t> ids = expected_ids(source.text(id), e);
    if (ids.empty()) continue;
    splits[in_validation(id, e.seed, e.fraction) ? "validation" : "train"].push_back({id, ids});
  }
  return splits;
}

// The documents of every shard the manifest lists, split by split, shard after shard.
Splits read_splits(const fs::path& output) {
  const json manifest = read_manifest_json(output);
  Splits splits;
  for (const auto& [name, split] : manifest.at("splits").items()) {
    std::vector<Document>& documents = splits[name];
    for (const json& shard : split.at("shards")) {
      ShardReader reader(output / name, shard.at("name").get<std::string>());
      EXPECT_EQ(reader.documents(), shard.at("documents").get<uint64_t>());
      EXPECT_EQ(reader.tokens(), shard.at("tokens").get<uint64_t>());
      for (uint64_t i = 0; i < reader.documents(); ++i)
        documents.push_back({reader.record_id(i), reader.document(i)});
    }
    for (size_t i = 1; i < documents.size(); ++i)
      EXPECT_LT(documents[i - 1].record_id, documents[i].record_id)
          << name << " is not in record order";
  }
  return splits;
}

// Files under the output that are neither the manifest nor a shard it lists.
std::vector<std::string> unlisted_files(const fs::path& output) {
  const json manifest = read_manifest_json(output);
  std::set<std::string> listed{"manifest.json"};
  for (const auto& [name, split] : manifest.at("splits").items())
    for (const json& shard : split.at("shards")) {
      listed.insert(name + "/" + shard.at("name").get<std::string>() + ".tokens");
      listed.insert(name + "/" + shard.at("name").get<std::string>() + ".index");
    }
  std::vector<std::string> stray;
  for (const auto& [file, contents] : snapshot(output))
    if (listed.count(file) == 0) stray.push_back(file);
  return stray;
}

// Requests cancellation once data prepare has advanced its progress `cancel_after` times
// (one advance per batch), so the stage stops between two batches of its own.
class CancellingServices : public pipeline::RunServices {
 public:
  using RunServices::RunServices;

  uint64_t progress_begin(std::string_view source, std::string_view label, int64_t total,
                          std::string_view unit) override {
    const uint64_t task = RunServices::progress_begin(source, label, total, unit);
    if (label == "data prepare") prepare_task = task;
    return task;
  }
  void progress_advance(uint64_t task, int64_t delta) override {
    RunServices::progress_advance(task, delta);
    if (prepare_task != task) return;
    if (on_prepare_advance) on_prepare_advance();
    if (++advances == cancel_after) services::Cancellation::process().request();
  }

  std::function<void()> on_prepare_advance;  // runs after each advance of data prepare's task
  std::optional<uint64_t> prepare_task;
  uint64_t advances = 0;
  uint64_t cancel_after = 0;  // 0: never
};

class DataPrepare : public ::testing::Test {
 protected:
  void SetUp() override {
    services::Cancellation::process().reset();
    for (const plugin::LoadFailure& failure : registry.load_directories({LMF_TEST_PLUGIN_DIR}))
      ADD_FAILURE() << failure.message;
    ASSERT_TRUE(registry.find(LMF_KIND_DATA_SOURCE, "list_source").has_value());
    ASSERT_TRUE(registry.find(LMF_KIND_TOKENIZER, "byte_tokenizer").has_value());
  }
  void TearDown() override { services::Cancellation::process().reset(); }

  // A pipeline of one data.prepare stage; `more` is merged into its params.
  static json pipeline_of(const fs::path& output, const Source& source,
                          const json& more = json::object()) {
    json params = {{"source", {{"component", "list_source"}, {"config", source.config()}}},
                   {"tokenizer", {{"component", "byte_tokenizer"}}},
                   {"output", output.string()}};
    params.update(more);
    return {
        {"run", {{"name", "data"}}},
        {"stages",
         json::array({{{"name", "prepare"}, {"builtin", "data.prepare"}, {"params", params}}})}};
  }

  pipeline::Pipeline prepare(const json& document) {
    config::ComposedConfig composed;
    composed.document = document;
    composed.record_origin("", "inline.json");
    return pipeline::prepare_pipeline(std::move(composed), registry);
  }

  // Runs the pipeline; with `cancel_after`, the user stops it after that many batches.
  RunResult run(const json& document, uint64_t cancel_after = 0) {
    const pipeline::Pipeline prepared = prepare(document);
    services::Cancellation::process().reset();
    services.prepare_task.reset();
    services.advances = 0;
    services.cancel_after = cancel_after;
    RunResult result = pipeline::run_pipeline(prepared, registry, services);
    services::Cancellation::process().reset();
    EXPECT_EQ(result.stages.size(), 1u);
    return result;
  }

  // Runs it and expects it to complete; returns the stage's summary.
  json run_to_completion(const json& document) {
    const RunResult result = run(document);
    EXPECT_EQ(result.outcome, RunOutcome::completed) << result.to_json().dump(2);
    return result.stages.empty() ? json() : result.stages[0].summary;
  }

  std::ostringstream terminal;
  services::Logger logger{terminal, services::LogLevel::debug};
  services::ProgressBoard progress{terminal};
  CancellingServices services{logger, progress, services::Cancellation::process()};
  plugin::PluginRegistry registry{services};
};

// Texts of different lengths, some multi-byte UTF-8, one empty.
const std::vector<std::string> kMixedTexts = {"hello", "",           "h\xc3\xa9llo w\xc3\xb6rld",
                                              "a\nb",  "0123456789", "\xe2\x82\xac"};

// n texts of varied lengths, all different.
std::vector<std::string> numbered_texts(size_t n) {
  std::vector<std::string> texts;
  for (size_t k = 0; k < n; ++k)
    texts.push_back("text " + std::string(k % 7 + 1, static_cast<char>('a' + k % 26)) + " " +
                    std::to_string(k));
  return texts;
}

TEST_F(DataPrepare, ShardsHoldTheTokenizedTextsOfBothSplits) {
  TempDir temp;
  const fs::path output = temp.path() / "shards";
  const Source source{kMixedTexts, 4};
  const json summary = run_to_completion(pipeline_of(
      output, source, {{"validation_fraction", 0.25}, {"split_seed", 5}, {"eos_token", "<eos>"}}));

  const Expectation expectation{5, 0.25, true, true};
  const Splits expected = expected_splits(source, expectation);
  ASSERT_EQ(expected.size(), 2u) << "the test wants documents in both splits";
  EXPECT_EQ(read_splits(output), expected);
  EXPECT_TRUE(unlisted_files(output).empty()) << ::testing::PrintToString(unlisted_files(output));

  uint64_t tokens = 0;
  for (const auto& [split, documents] : expected)
    for (const Document& document : documents) tokens += document.ids.size();
  const json manifest = read_manifest_json(output);
  EXPECT_EQ(manifest["format"], "lmforge-shards");
  EXPECT_EQ(manifest["version"], 1);
  EXPECT_EQ(manifest["vocab_size"], 258);
  EXPECT_EQ(manifest["token_bytes"], 2);
  EXPECT_EQ(manifest["complete"], true);
  EXPECT_EQ(manifest["next_record"], source.total());
  EXPECT_EQ(manifest["report"],
            json::parse(R"({"records_in": 24, "records_out": 24, "dropped": 0})"));
  EXPECT_EQ(manifest["settings"]["split_seed"], 5);
  EXPECT_EQ(manifest["settings"]["shard_tokens"], 16777216);  // defaults are recorded too
  EXPECT_FALSE(manifest["settings"].contains("batch_records"));
  EXPECT_FALSE(manifest["settings"].contains("resume"));
  EXPECT_EQ(manifest["splits"]["train"]["documents"], expected.at("train").size());
  EXPECT_EQ(manifest["splits"]["validation"]["documents"], expected.at("validation").size());
  EXPECT_EQ(manifest["splits"]["train"]["tokens"].get<uint64_t>() +
                manifest["splits"]["validation"]["tokens"].get<uint64_t>(),
            tokens);

  EXPECT_EQ(summary["output"], output.string());
  EXPECT_EQ(summary["records"], 24);
  EXPECT_EQ(summary["empty_documents"], 0);
  EXPECT_EQ(summary["tokens_written"], tokens);
  uint64_t bytes = 0;
  for (uint64_t id = 0; id < source.total(); ++id) bytes += source.text(id).size();
  EXPECT_EQ(summary["bytes_read"], bytes);
  EXPECT_EQ(summary["splits"]["train"]["documents"], expected.at("train").size());
  EXPECT_EQ(summary["splits"]["train"]["shards"], 1);
  EXPECT_EQ(summary["source_report"], manifest["report"]);
}

TEST_F(DataPrepare, WithoutSpecialTokensEmptyTextsAreSkipped) {
  TempDir temp;
  const fs::path output = temp.path() / "shards";
  const Source source{kMixedTexts, 3};
  const json summary = run_to_completion(
      pipeline_of(output, source, {{"add_special_tokens", false}, {"validation_fraction", 0}}));
  const Splits expected = expected_splits(source, {0, 0, false, false});
  EXPECT_EQ(read_splits(output), expected);
  EXPECT_EQ(expected.at("train").size(), 15u);  // the 3 empty texts are not documents
  EXPECT_EQ(summary["records"], 18);
  EXPECT_EQ(summary["empty_documents"], 3);
  const Splits read = read_splits(output);
  for (const Document& document : read.at("train")) {
    EXPECT_EQ(std::count(document.ids.begin(), document.ids.end(), kBos), 0);
    EXPECT_EQ(std::count(document.ids.begin(), document.ids.end(), kEos), 0);
  }
}

TEST_F(DataPrepare, EosTokenIsAppendedToEveryDocument) {
  TempDir temp;
  const fs::path output = temp.path() / "shards";
  const Source source{kMixedTexts, 2};
  run_to_completion(pipeline_of(
      output, source,
      {{"eos_token", "<eos>"},
       {"validation_fraction", 0},
       {"tokenizer", {{"component", "byte_tokenizer"}, {"config", {{"add_bos", false}}}}}}));
  const Splits read = read_splits(output);
  EXPECT_EQ(read, expected_splits(source, {0, 0, false, true}));
  ASSERT_EQ(read.at("train").size(), source.total());  // the empty texts too: they hold <eos>
  for (const Document& document : read.at("train")) EXPECT_EQ(document.ids.back(), kEos);
}

TEST_F(DataPrepare, UnknownEosTokenIsNamed) {
  TempDir temp;
  const fs::path output = temp.path() / "shards";
  const RunResult result = run(pipeline_of(output, {kMixedTexts}, {{"eos_token", "<end>"}}));
  EXPECT_EQ(result.outcome, RunOutcome::failed);
  ASSERT_EQ(result.stages.size(), 1u);
  EXPECT_TRUE(Contains(result.stages[0].error, "eos_token \"<end>\""));
  EXPECT_TRUE(Contains(result.stages[0].error, "byte_tokenizer"));
  EXPECT_FALSE(fs::exists(output));
}

TEST_F(DataPrepare, SplitIsDeterministicAndNearTheFraction) {
  TempDir temp;
  const Source source{numbered_texts(20), 100};  // 2000 records
  auto validation_ids = [&](const std::string& folder, uint64_t seed, uint64_t batch) {
    const fs::path output = temp.path() / folder;
    run_to_completion(pipeline_of(
        output, source,
        {{"validation_fraction", 0.1}, {"split_seed", seed}, {"batch_records", batch}}));
    const Splits read = read_splits(output);
    EXPECT_EQ(read, expected_splits(source, {seed, 0.1, true, false}));
    std::set<uint64_t> ids;
    for (const Document& document : read.at("validation")) ids.insert(document.record_id);
    EXPECT_EQ(read.at("train").size() + ids.size(), 2000u);
    return ids;
  };
  const std::set<uint64_t> first = validation_ids("seed7", 7, 64);
  EXPECT_GT(first.size(), 140u);
  EXPECT_LT(first.size(), 260u);
  // Same seed, another batch size: the same records.
  EXPECT_EQ(validation_ids("seed7_again", 7, 1000), first);
  const std::set<uint64_t> other = validation_ids("seed8", 8, 64);
  EXPECT_NE(other, first);
  EXPECT_GT(other.size(), 140u);
  EXPECT_LT(other.size(), 260u);
}

TEST_F(DataPrepare, FractionZeroAndOne) {
  TempDir temp;
  const Source source{numbered_texts(10), 5};
  run_to_completion(pipeline_of(temp.path() / "none", source, {{"validation_fraction", 0}}));
  EXPECT_EQ(read_splits(temp.path() / "none").at("train").size(), 50u);
  EXPECT_FALSE(read_manifest_json(temp.path() / "none")["splits"].contains("validation"));
  EXPECT_FALSE(fs::exists(temp.path() / "none" / "validation"));

  run_to_completion(pipeline_of(temp.path() / "all", source, {{"validation_fraction", 1}}));
  EXPECT_EQ(read_splits(temp.path() / "all").at("validation").size(), 50u);
  EXPECT_FALSE(read_manifest_json(temp.path() / "all")["splits"].contains("train"));
}

// The shards the rule "closed after the batch in which the open shard reached shard_tokens"
// gives for documents of these sizes, as {documents, tokens}.
std::vector<std::pair<uint64_t, uint64_t>> expected_shards(const std::vector<uint64_t>& sizes,
                                                           uint64_t shard_tokens, size_t batch) {
  std::vector<std::pair<uint64_t, uint64_t>> shards;
  uint64_t documents = 0, tokens = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    ++documents;
    tokens += sizes[i];
    const bool batch_ends = (i + 1) % batch == 0 || i + 1 == sizes.size();
    if (batch_ends && tokens >= shard_tokens) {
      shards.push_back({documents, tokens});
      documents = tokens = 0;
    }
  }
  if (documents > 0) shards.push_back({documents, tokens});
  return shards;
}

TEST_F(DataPrepare, ShardsRollOverAtShardTokens) {
  TempDir temp;
  const Source source{numbered_texts(9), 3};
  std::vector<uint64_t> sizes;
  for (uint64_t id = 0; id < source.total(); ++id)
    sizes.push_back(source.text(id).size() + 2);  // bos, eos
  for (size_t batch : {size_t{1}, size_t{4}}) {
    SCOPED_TRACE("batch_records " + std::to_string(batch));
    const fs::path output = temp.path() / ("batch" + std::to_string(batch));
    run_to_completion(pipeline_of(output, source,
                                  {{"shard_tokens", 40},
                                   {"validation_fraction", 0},
                                   {"eos_token", "<eos>"},
                                   {"batch_records", batch}}));
    const std::vector<std::pair<uint64_t, uint64_t>> shards = expected_shards(sizes, 40, batch);
    ASSERT_GT(shards.size(), 3u);
    const json listed = read_manifest_json(output)["splits"]["train"]["shards"];
    ASSERT_EQ(listed.size(), shards.size()) << listed.dump();
    for (size_t i = 0; i < shards.size(); ++i) {
      EXPECT_EQ(listed[i]["name"], shard_name(i));
      EXPECT_EQ(listed[i]["documents"], shards[i].first) << "shard " << i;
      EXPECT_EQ(listed[i]["tokens"], shards[i].second) << "shard " << i;
      EXPECT_EQ(fs::file_size(output / "train" / (shard_name(i) + ".tokens")),
                2 * shards[i].second);
    }
    EXPECT_EQ(read_splits(output), expected_splits(source, {0, 0, true, true}));
  }
}

TEST_F(DataPrepare, WideVocabularyWritesFourByteIds) {
  TempDir temp;
  const fs::path output = temp.path() / "shards";
  const Source source{kMixedTexts, 2};
  run_to_completion(pipeline_of(
      output, source,
      {{"validation_fraction", 0},
       {"tokenizer", {{"component", "byte_tokenizer"}, {"config", {{"vocab_size", 70000}}}}}}));
  const json manifest = read_manifest_json(output);
  EXPECT_EQ(manifest["token_bytes"], 4);
  EXPECT_EQ(manifest["vocab_size"], 70000);
  EXPECT_EQ(fs::file_size(output / "train" / "00000.tokens"),
            4 * manifest["splits"]["train"]["tokens"].get<uint64_t>());
  EXPECT_EQ(read_splits(output), expected_splits(source, {0, 0, true, false}));
}

TEST_F(DataPrepare, IdsOutsideTheTokenizersVocabularyNameTheRecord) {
  TempDir temp;
  const fs::path output = temp.path() / "shards";
  // The tokenizer claims 200 ids but emits <bos> = 256.
  const RunResult result = run(pipeline_of(
      output, {kMixedTexts},
      {{"tokenizer", {{"component", "byte_tokenizer"}, {"config", {{"vocab_size", 200}}}}}}));
  EXPECT_EQ(result.outcome, RunOutcome::failed);
  ASSERT_EQ(result.stages.size(), 1u);
  EXPECT_TRUE(Contains(result.stages[0].error, "list:0"));
  EXPECT_TRUE(Contains(result.stages[0].error, "record 0"));
  EXPECT_TRUE(Contains(result.stages[0].error, "token id 256"));
  EXPECT_TRUE(Contains(result.stages[0].error, "size 200"));
  // Nothing a reader could take for data: no manifest, no shard, no partial file.
  EXPECT_FALSE(fs::exists(output / "manifest.json"));
  for (const auto& [file, contents] : snapshot(output)) ADD_FAILURE() << "left behind: " << file;
}

TEST_F(DataPrepare, DroppedRecordsAreNotWrittenButKeepTheirIds) {
  TempDir temp;
  const fs::path output = temp.path() / "shards";
  const Source source{numbered_texts(10), 3, 3};  // ids 2, 5, 8, ... dropped
  const json summary = run_to_completion(
      pipeline_of(output, source, {{"validation_fraction", 0.3}, {"batch_records", 4}}));
  const Splits read = read_splits(output);
  EXPECT_EQ(read, expected_splits(source, {0, 0.3, true, false}));
  std::set<uint64_t> written;
  for (const auto& [split, documents] : read)
    for (const Document& document : documents) written.insert(document.record_id);
  EXPECT_EQ(written.size(), 20u);
  for (uint64_t id = 2; id < 30; id += 3) EXPECT_EQ(written.count(id), 0u) << "record " << id;
  EXPECT_EQ(summary["records"], 20);
  EXPECT_EQ(summary["source_report"],
            json::parse(R"({"records_in": 30, "records_out": 20, "dropped": 10})"));
}

TEST_F(DataPrepare, ReportThatIsNotJsonIsNotKept) {
  TempDir temp;
  const fs::path output = temp.path() / "shards";
  json document = pipeline_of(output, {kMixedTexts});
  document["stages"][0]["params"]["source"]["component"] = "bad_report_source";
  const json summary = run_to_completion(document);
  EXPECT_TRUE(
      Contains(terminal.str(), "data_source \"bad_report_source\": report is not a JSON object"));
  EXPECT_EQ(summary["source_report"], json::object());
  const json manifest = read_manifest_json(output);  // still JSON
  EXPECT_EQ(manifest["report"], json::object());
  EXPECT_EQ(manifest["complete"], true);
  EXPECT_EQ(run_to_completion(document)["already_complete"], true);
}

TEST_F(DataPrepare, ResumeWithAnotherVocabularyIsRefused) {
  TempDir temp;
  const fs::path output = temp.path() / "shards";
  const json document = pipeline_of(output, {numbered_texts(20), 5}, {{"batch_records", 10}});
  ASSERT_EQ(run(document, 2).outcome, RunOutcome::cancelled);
  // As if the tokenizer's files had changed under the same config.
  json manifest = read_manifest_json(output);
  manifest["vocab_size"] = 70000;
  std::ofstream(output / "manifest.json") << manifest.dump();
  const std::map<std::string, std::string> before = snapshot(output);
  const RunResult result = run(document);
  EXPECT_EQ(result.outcome, RunOutcome::failed);
  ASSERT_EQ(result.stages.size(), 1u);
  EXPECT_TRUE(Contains(result.stages[0].error,
                       output.string() + " holds shards of a vocabulary of 70000 ids"));
  EXPECT_TRUE(Contains(result.stages[0].error, "now has 258"));
  EXPECT_EQ(snapshot(output), before);
}

// A data source may report progress of its own from inside next_batch, as the corpus
// source does (bytes read of its input's size). Such tasks are parts of data prepare's,
// which so gets the fraction read and an ETA (Note [Parts of a task]); list_source reports
// none, so the test begins one while the stage runs.
TEST_F(DataPrepare, TasksBegunWhileItRunsArePartsOfItsProgress) {
  TempDir temp;
  std::optional<services::ProgressSnapshot> part;
  services.on_prepare_advance = [&] {
    if (part) return;
    const uint64_t task = services.progress_begin("list_source", "source: 1 files", 1000, "bytes");
    services.progress_advance(task, 250);
    for (const services::ProgressSnapshot& running : progress.snapshot())
      if (running.id == task) part = running;
    services.progress_end(task);
  };
  run_to_completion(pipeline_of(temp.path() / "shards", Source{kMixedTexts, 2}));
  services.on_prepare_advance = nullptr;
  ASSERT_TRUE(part.has_value());
  ASSERT_TRUE(services.prepare_task.has_value());
  EXPECT_EQ(part->parent, *services.prepare_task);
  EXPECT_EQ(part->count, 250);
}

TEST_F(DataPrepare, EmptySource) {
  TempDir temp;
  const fs::path output = temp.path() / "shards";
  const json summary = run_to_completion(pipeline_of(output, {{}}));
  EXPECT_EQ(summary["records"], 0);
  const json manifest = read_manifest_json(output);
  EXPECT_EQ(manifest["complete"], true);
  EXPECT_EQ(manifest["splits"], json::object());
  EXPECT_EQ(run_to_completion(pipeline_of(output, {{}}))["already_complete"], true);
}

// Resume: the source, the settings and the points at which the user stops the run.
struct ResumeCase {
  uint64_t drop_every;
  std::vector<uint64_t> cancel_after;  // batches before each stop, one run per entry
};

class DataPrepareResume : public DataPrepare, public ::testing::WithParamInterface<ResumeCase> {};

TEST_P(DataPrepareResume, InterruptedRunsEndAsAnUninterruptedOne) {
  TempDir temp;
  const Source source{numbered_texts(23), 13, GetParam().drop_every};  // 299 records
  const json settings = {{"validation_fraction", 0.2},
                         {"split_seed", 11},
                         {"eos_token", "<eos>"},
                         {"shard_tokens", 150},
                         {"batch_records", 10}};
  const Expectation expectation{11, 0.2, true, true};
  const std::vector<uint64_t> kept = source.kept();

  const fs::path reference = temp.path() / "reference";
  run_to_completion(pipeline_of(reference, source, settings));
  const Splits uninterrupted = read_splits(reference);
  ASSERT_EQ(uninterrupted, expected_splits(source, expectation));

  const fs::path output = temp.path() / "interrupted";
  uint64_t batches_done = 0;
  uint64_t resume_point = 0;
  for (uint64_t stop_after : GetParam().cancel_after) {
    SCOPED_TRACE("stopped after " + std::to_string(stop_after) + " more batches");
    const RunResult result = run(pipeline_of(output, source, settings), stop_after);
    ASSERT_EQ(result.outcome, RunOutcome::cancelled) << result.to_json().dump(2);
    EXPECT_EQ(result.stages[0].status, "cancelled");
    EXPECT_TRUE(Contains(result.stages[0].error, "run it again to resume"));
    if (resume_point > 0) {
      EXPECT_TRUE(Contains(terminal.str(), "resuming " + output.string() + " at record " +
                                               std::to_string(resume_point)));
    }

    // Batches hold 10 kept records: the checkpoint is just after the last one read.
    batches_done += stop_after;
    resume_point = kept[std::min<uint64_t>(batches_done * 10, kept.size()) - 1] + 1;
    const json manifest = read_manifest_json(output);
    EXPECT_EQ(manifest["complete"], false);
    EXPECT_EQ(manifest["next_record"], resume_point);
    // Every record before the checkpoint is in a listed shard, nothing after it.
    Expectation before = expectation;
    before.below = resume_point;
    EXPECT_EQ(read_splits(output), expected_splits(source, before));
    EXPECT_TRUE(unlisted_files(output).empty()) << ::testing::PrintToString(unlisted_files(output));
  }

  // Batching is not part of the settings: the last run may use another size.
  json last = pipeline_of(output, source, settings);
  last["stages"][0]["params"]["batch_records"] = 7;
  const json summary = run_to_completion(last);
  EXPECT_TRUE(Contains(terminal.str(), "resuming " + output.string() + " at record " +
                                           std::to_string(resume_point)));
  EXPECT_EQ(read_splits(output), uninterrupted);
  EXPECT_TRUE(unlisted_files(output).empty()) << ::testing::PrintToString(unlisted_files(output));

  // This run counted only what it read: records from the resume point on, and so does the
  // source's report (its counters, like a real source's dedup state, restart there).
  uint64_t kept_after = 0, dropped_after = 0;
  for (uint64_t id = resume_point; id < source.total(); ++id)
    (source.dropped(id) ? dropped_after : kept_after)++;
  EXPECT_EQ(summary["records"], kept_after);
  const json manifest = read_manifest_json(output);
  EXPECT_EQ(manifest["complete"], true);
  EXPECT_EQ(manifest["report"], json({{"records_in", source.total() - resume_point},
                                      {"records_out", kept_after},
                                      {"dropped", dropped_after}}));
}

INSTANTIATE_TEST_SUITE_P(
    StopPoints, DataPrepareResume,
    ::testing::Values(ResumeCase{0, {3}}, ResumeCase{0, {1, 5, 2}}, ResumeCase{4, {7}},
                      ResumeCase{4, {2, 2}},
                      // after the last batch: everything is written, the end not yet seen
                      ResumeCase{0, {30}}, ResumeCase{5, {24}}),
    [](const ::testing::TestParamInfo<ResumeCase>& case_info) {
      std::string name = "drop" + std::to_string(case_info.param.drop_every);
      for (uint64_t n : case_info.param.cancel_after) name += "_stop" + std::to_string(n);
      return name;
    });

TEST_F(DataPrepare, SecondRunOnACompleteFolderDoesNothing) {
  TempDir temp;
  const fs::path output = temp.path() / "shards";
  const json document =
      pipeline_of(output, {numbered_texts(30), 2}, {{"validation_fraction", 0.2}});
  const json first = run_to_completion(document);
  const std::map<std::string, std::string> before = snapshot(output);
  const json summary = run_to_completion(document);
  EXPECT_EQ(summary["already_complete"], true);
  EXPECT_EQ(summary["output"], output.string());
  EXPECT_EQ(summary["splits"], first["splits"]);
  EXPECT_EQ(snapshot(output), before);
  EXPECT_TRUE(Contains(terminal.str(), output.string() + " is already complete"));
}

TEST_F(DataPrepare, ChangedSettingsAreRefused) {
  TempDir temp;
  const fs::path output = temp.path() / "shards";
  const Source source{numbered_texts(30), 10};
  const json settings = {{"validation_fraction", 0.2}, {"batch_records", 10}};
  const json changes[] = {
      {{"validation_fraction", 0.3}},
      {{"split_seed", 1}},
      {{"shard_tokens", 1000}},
      {{"eos_token", "<eos>"}},
      {{"tokenizer", {{"component", "byte_tokenizer"}, {"config", {{"add_bos", false}}}}}}};
  auto expect_refused = [&](const std::string& state) {
    const std::map<std::string, std::string> before = snapshot(output);
    for (const json& change : changes) {
      json changed = settings;
      changed.update(change);
      const RunResult result = run(pipeline_of(output, source, changed));
      EXPECT_EQ(result.outcome, RunOutcome::failed) << state << " " << change.dump();
      ASSERT_EQ(result.stages.size(), 1u);
      EXPECT_TRUE(Contains(result.stages[0].error,
                           output.string() + " holds shards prepared with other settings"))
          << state << " " << change.dump();
    }
    EXPECT_EQ(snapshot(output), before) << state;
  };

  ASSERT_EQ(run(pipeline_of(output, source, settings), 5).outcome, RunOutcome::cancelled);
  expect_refused("interrupted");
  json no_resume = settings;
  no_resume["resume"] = false;
  const RunResult refused = run(pipeline_of(output, source, no_resume));
  EXPECT_EQ(refused.outcome, RunOutcome::failed);
  EXPECT_TRUE(Contains(refused.stages[0].error,
                       output.string() + " holds an interrupted run and resume is false"));

  run_to_completion(pipeline_of(output, source, settings));
  expect_refused("complete");
}

TEST_F(DataPrepare, MovedFolderResumes) {
  TempDir temp;
  const Source source{numbered_texts(17), 10};
  const json settings = {{"validation_fraction", 0.3}, {"batch_records", 8}, {"shard_tokens", 100}};
  ASSERT_EQ(run(pipeline_of(temp.path() / "first", source, settings), 6).outcome,
            RunOutcome::cancelled);
  fs::rename(temp.path() / "first", temp.path() / "moved");
  run_to_completion(pipeline_of(temp.path() / "moved", source, settings));
  EXPECT_EQ(read_splits(temp.path() / "moved"), expected_splits(source, {0, 0.3, true, false}));
  fs::rename(temp.path() / "moved", temp.path() / "again");
  EXPECT_EQ(
      run_to_completion(pipeline_of(temp.path() / "again", source, settings))["already_complete"],
      true);
}

TEST_F(DataPrepare, LeftoversOfACrashAreRemovedOnResume) {
  TempDir temp;
  const fs::path output = temp.path() / "shards";
  const Source source{numbered_texts(23), 10};
  const json settings = {
      {"validation_fraction", 0.2}, {"batch_records", 10}, {"shard_tokens", 200}};
  ASSERT_EQ(run(pipeline_of(output, source, settings), 4).outcome, RunOutcome::cancelled);
  const json manifest = read_manifest_json(output);
  const uint64_t train_shards = manifest["splits"]["train"]["shards"].size();
  ASSERT_GT(train_shards, 0u);

  // What a crash can leave: the open shard's partial files, a shard renamed into place
  // but not yet listed, and a partial file named like a listed shard.
  const std::string next = shard_name(train_shards);
  std::ofstream(output / "train" / (next + ".tokens.partial")) << "half a shard";
  std::ofstream(output / "train" / (next + ".tokens")) << "unlisted";
  std::ofstream(output / "train" / (next + ".index")) << "unlisted";
  std::ofstream(output / "train" / "00000.index.partial") << "stale";
  fs::create_directories(output / "validation");
  std::ofstream(output / "validation" / "00042.tokens.partial") << "stale";
  ASSERT_EQ(unlisted_files(output).size(), 5u);

  run_to_completion(pipeline_of(output, source, settings));
  EXPECT_TRUE(unlisted_files(output).empty()) << ::testing::PrintToString(unlisted_files(output));
  EXPECT_EQ(read_splits(output), expected_splits(source, {0, 0.2, true, false}));
}

TEST_F(DataPrepare, FilesThatAreNotShardsAreLeftAlone) {
  TempDir temp;
  const fs::path output = temp.path() / "shards";
  fs::create_directories(output / "train" / "notes");
  std::ofstream(output / "train" / "README.txt") << "mine";
  std::ofstream(output / "train" / "notes" / "a.txt") << "mine too";
  std::ofstream(output / "train" / "00000.tokens.partial") << "a crash before the first checkpoint";
  const Source source{numbered_texts(5)};
  run_to_completion(pipeline_of(output, source, {{"validation_fraction", 0}}));
  EXPECT_EQ(read_text(output / "train" / "README.txt"), "mine");
  EXPECT_EQ(read_text(output / "train" / "notes" / "a.txt"), "mine too");
  EXPECT_FALSE(fs::exists(output / "train" / "00000.tokens.partial"));
  EXPECT_EQ(read_splits(output), expected_splits(source, {0, 0, true, false}));
}

// Validation, before anything runs.
TEST_F(DataPrepare, DefaultsAreFilledBeforeTheRun) {
  const pipeline::Pipeline prepared = prepare(pipeline_of("out", {{"x"}}));
  const json& params = prepared.stages.at(0).spec["params"];
  EXPECT_EQ(params["shard_tokens"], 16777216);
  EXPECT_EQ(params["validation_fraction"], 0.01);
  EXPECT_EQ(params["split_seed"], 0);
  EXPECT_EQ(params["add_special_tokens"], true);
  EXPECT_EQ(params["batch_records"], 1024);
  EXPECT_EQ(params["resume"], true);
  EXPECT_FALSE(params.contains("eos_token"));
  EXPECT_EQ(params["source"]["config"],
            json::parse(R"({"texts": ["x"], "repeat": 1, "drop_every": 0})"));
  EXPECT_EQ(params["tokenizer"]["config"], json::parse(R"({"add_bos": true, "vocab_size": 258})"));
}

class DataPrepareInvalid : public DataPrepare {
 protected:
  // The issues prepare_pipeline finds, and whether it blames a missing component.
  std::vector<pipeline::ConfigIssue> issues(const json& document, bool* missing = nullptr) {
    try {
      prepare(document);
    } catch (const pipeline::PipelineInvalid& e) {
      if (missing != nullptr) *missing = e.names_missing_component();
      return e.issues();
    }
    ADD_FAILURE() << "accepted: " << document.dump();
    return {};
  }
  static std::string pointers(const std::vector<pipeline::ConfigIssue>& list) {
    std::string text;
    for (const pipeline::ConfigIssue& issue : list)
      text += issue.pointer + ": " + issue.message + "\n";
    return text;
  }
};

TEST_F(DataPrepareInvalid, MissingSourceComponent) {
  json document = pipeline_of("out", {{"x"}});
  document["stages"][0]["params"]["source"]["component"] = "no_such_source";
  bool missing = false;
  const std::vector<pipeline::ConfigIssue> found = issues(document, &missing);
  ASSERT_EQ(found.size(), 1u) << pointers(found);
  EXPECT_EQ(found[0].pointer, "/stages/0/params/source/component");
  EXPECT_EQ(found[0].file, "inline.json");
  EXPECT_TRUE(Contains(found[0].message, "no data_source named \"no_such_source\""));
  EXPECT_TRUE(missing);
}

TEST_F(DataPrepareInvalid, ComponentOfTheWrongKind) {
  json document = pipeline_of("out", {{"x"}});
  document["stages"][0]["params"]["source"]["component"] = "byte_tokenizer";
  document["stages"][0]["params"]["tokenizer"]["component"] = "list_source";
  bool missing = false;
  const std::vector<pipeline::ConfigIssue> found = issues(document, &missing);
  ASSERT_EQ(found.size(), 2u) << pointers(found);
  EXPECT_EQ(found[0].pointer, "/stages/0/params/source/component");
  EXPECT_EQ(found[1].pointer, "/stages/0/params/tokenizer/component");
  EXPECT_TRUE(missing);
}

TEST_F(DataPrepareInvalid, BadComponentConfigs) {
  json document = pipeline_of("out", {{"x"}});
  document["stages"][0]["params"]["tokenizer"]["config"] = {{"add_bos", "yes"}};
  document["stages"][0]["params"]["source"]["config"] = {{"repeat", 0}};
  bool missing = true;
  const std::vector<pipeline::ConfigIssue> found = issues(document, &missing);
  EXPECT_FALSE(missing);
  std::set<std::string> where;
  for (const pipeline::ConfigIssue& issue : found) where.insert(issue.pointer);
  EXPECT_EQ(where.count("/stages/0/params/tokenizer/config/add_bos"), 1u) << pointers(found);
  EXPECT_EQ(where.count("/stages/0/params/source/config/repeat"), 1u) << pointers(found);
  EXPECT_TRUE(Contains(pointers(found), "texts"));  // required, absent
}

TEST_F(DataPrepareInvalid, BadParams) {
  json document = pipeline_of("out", {{"x"}}, {{"validation_fraction", 1.5}, {"shard_tokens", 0}});
  document["stages"][0]["params"].erase("output");
  const std::vector<pipeline::ConfigIssue> found = issues(document);
  const std::string text = pointers(found);
  EXPECT_TRUE(Contains(text, "/stages/0/params/validation_fraction"));
  EXPECT_TRUE(Contains(text, "/stages/0/params/shard_tokens"));
  EXPECT_TRUE(Contains(text, "output"));
}

}  // namespace
}  // namespace lmf::data
