// The three data sources through the plugin ABI, as the host uses them: the plugin loaded
// by PluginRegistry, each config validated by lmf::config::validate (defaults filled in),
// batches pulled through the C vtable. Covers order and determinism, seek, every kind of
// bad input with its message and counts, streaming memory, and run_stage.
#include "core/config/schema.h"
#include "core/plugin/component_instance.h"
#include "core/plugin/host_api.h"
#include "core/plugin/registry.h"
#include "core/plugin/status.h"
#include "tests/data_source/test_files.h"
#include "tests/support/recording_services.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <fstream>
#include <sstream>

namespace lmf::data {
namespace {

using nlohmann::json;
using plugin::ComponentInstance;
using plugin::PluginError;
using testing::fixture;
using testing::TempDir;

struct Rec {
  uint64_t id;
  std::string text, fields, origin;
  friend bool operator==(const Rec&, const Rec&) = default;
};
void PrintTo(const Rec& r, std::ostream* out) {
  *out << "{" << r.id << ", \"" << r.text << "\", " << r.fields << ", " << r.origin << "}";
}

// One data source instance, driven through lmf_data_source_vtable.
class Source {
 public:
  Source(plugin::PluginRegistry& registry, const std::string& component, json config)
      : ref_(registry.require(LMF_KIND_DATA_SOURCE, component)) {
    const std::vector<config::ValidationIssue> issues =
        config::validate(json::parse(ref_.schema()), config);
    for (const auto& issue : issues) ADD_FAILURE() << issue.pointer << ": " << issue.message;
    config_ = config;
    instance_ = std::make_unique<ComponentInstance>(ref_, config);
    vtable_ = &instance_->vtable<lmf_data_source_vtable>(LMF_KIND_DATA_SOURCE);
  }

  std::vector<Rec> next(std::size_t max_records) {
    const lmf_record_batch* batch = nullptr;
    plugin::check_status(vtable_->next_batch(instance_->get(), max_records, &batch), "next_batch");
    std::vector<Rec> out;
    for (std::size_t i = 0; i < batch->count; ++i) {
      const lmf_record& r = *batch->records[i];
      out.push_back({r.id, std::string(r.text.data, r.text.size),
                     std::string(r.fields_json.data, r.fields_json.size),
                     std::string(r.origin.data, r.origin.size)});
    }
    return out;
  }
  std::vector<Rec> all(std::size_t batch = 5) {
    std::vector<Rec> out;
    for (;;) {
      std::vector<Rec> got = next(batch);
      if (got.empty()) return out;
      EXPECT_LE(got.size(), batch);
      out.insert(out.end(), got.begin(), got.end());
    }
  }
  void seek(uint64_t id) { plugin::check_status(vtable_->seek(instance_->get(), id), "seek"); }
  json report() {
    lmf_string text{nullptr, 0};
    plugin::check_status(vtable_->report(instance_->get(), &text), "report");
    json parsed = json::parse(std::string(text.data, text.size));
    plugin::host_api()->free(text.data);
    return parsed;
  }
  json run_stage(const json& params) {
    return instance_->run_stage({{"name", "clean"},
                                 {"kind", "data_source"},
                                 {"component", ref_.name()},
                                 {"params", params}});
  }
  const json& config() const { return config_; }

 private:
  plugin::ComponentRef ref_;
  json config_;
  std::unique_ptr<ComponentInstance> instance_;
  const lmf_data_source_vtable* vtable_ = nullptr;
};

class DataSourceAbi : public ::testing::Test {
 protected:
  void SetUp() override { registry_.load_file(LMF_DATA_CORPUS_PLUGIN); }
  Source make(const std::string& component, json config) {
    return Source(registry_, component, std::move(config));
  }
  // The message of the error that `body` throws, or "" when it throws none.
  template <class Body>
  static std::pair<lmf_status_code, std::string> error_of(Body body) {
    try {
      body();
    } catch (const PluginError& e) {
      return {e.code(), e.what()};
    }
    return {LMF_OK, ""};
  }
  static const json& stage(const json& report, const std::string& name) {
    for (const json& s : report["stages"])
      if (s["name"] == name) return s;
    throw std::runtime_error("no stage " + name + " in " + report.dump());
  }
  // records_in = records_out + every stage's dropped, and records_dropped says so too.
  static void expect_adds_up(const json& report) {
    uint64_t dropped = 0;
    for (const json& s : report["stages"]) dropped += s["dropped"].get<uint64_t>();
    EXPECT_EQ(report["records_in"].get<uint64_t>(), report["records_out"].get<uint64_t>() + dropped)
        << report.dump(2);
    EXPECT_EQ(report["records_dropped"].get<uint64_t>(), dropped);
  }

  lmf::testing::RecordingServices services_;
  plugin::PluginRegistry registry_{services_};
};

const json kAllStages = json::parse(R"([
  {"stage": "unicode_normalize", "form": "NFKC"}, "control_chars", "whitespace", "url_strip",
  "pii_mask", "quality_filter", "exact_dedup", {"stage": "near_dedup", "threshold": 0.8}])");

TEST_F(DataSourceAbi, DescribesItselfAndFillsDefaults) {
  const auto plugin = registry_.find_plugin("lmforge-data-corpus");
  ASSERT_TRUE(plugin);
  EXPECT_EQ(registry_.components_of(*plugin).size(), 3u);
  for (const char* name : {"jsonl", "text", "csv"}) {
    const plugin::ComponentRef ref = registry_.require(LMF_KIND_DATA_SOURCE, name);
    json config = {{"inputs", json::array({"x"})}};
    EXPECT_TRUE(config::validate(json::parse(ref.schema()), config).empty());
    EXPECT_EQ(config["on_error"], "skip");
    EXPECT_EQ(config["stages"],
              json::parse(R"(["unicode_normalize","control_chars","whitespace","exact_dedup"])"));
    json bad = {{"inputs", json::array({"x"})},
                {"stages", json::array({{{"stage", "whitespace"}, {"keep_newline", true}}})}};
    EXPECT_FALSE(config::validate(json::parse(ref.schema()), bad).empty()) << name;
    json no_inputs = json::object();
    EXPECT_FALSE(config::validate(json::parse(ref.schema()), no_inputs).empty()) << name;
  }
}

TEST_F(DataSourceAbi, StageDefaultsOfTheSchemaAreTheStagesOwn) {
  // Each stage object gets its defaults from the schema; the stage reports its effective
  // parameters. They must agree (bands and rows: 0 in the schema means "chosen").
  for (const char* name : {"unicode_normalize", "control_chars", "whitespace", "url_strip",
                           "pii_mask", "quality_filter", "exact_dedup", "near_dedup"}) {
    json config = {{"inputs", json::array({fixture("mixed.jsonl").string()})},
                   {"stages", json::array({{{"stage", name}}})}};
    Source source = make("jsonl", config);
    const json filled = source.config()["stages"][0];
    const json params = source.report()["stages"][1]["params"];
    for (const auto& [key, value] : filled.items()) {
      if (key == "stage" || key == "bands" || key == "rows") continue;
      EXPECT_EQ(params[key], value) << name << "." << key;
    }
  }
}

TEST_F(DataSourceAbi, JsonlCleansMasksAndDeduplicates) {
  Source source = make("jsonl", {{"inputs", json::array({fixture("mixed.jsonl").string()})},
                                 {"stages", kAllStages},
                                 {"keep_fields", json::array({"source"})}});
  const std::vector<Rec> records = source.all();
  std::vector<std::string> texts;
  for (const Rec& r : records) texts.push_back(r.text);
  EXPECT_EQ(texts, (std::vector<std::string>{
                       "华为技术有限公司成立于1987年,总部位于深圳。",
                       "Hello World! This line has full-width letters and extra spaces.",
                       "联系邮箱:[EMAIL],电话:[PHONE]。",
                       "Card ****-****-****-1111 expires soon; ID 110105********002X is on file.",
                       "访问获取更多信息。",
                       "腾讯控股有限公司于1998年在深圳成立,主要产品包括微信和QQ。"}));
  EXPECT_EQ(records[0].id, 0u);
  EXPECT_EQ(records[0].fields, R"({"source":"kb"})");
  EXPECT_EQ(records[3].origin, fixture("mixed.jsonl").string() + ":5");  // line 4 is blank
  EXPECT_EQ(records.back().id, 7u);

  const json report = source.report();
  EXPECT_EQ(report["records_in"], 8);
  EXPECT_EQ(report["records_out"], 6);
  EXPECT_EQ(report["finished"], true);
  EXPECT_EQ(stage(report, "exact_dedup")["reasons"]["duplicate"], 2);
  const json pii = stage(report, "pii_mask");
  EXPECT_EQ(pii["changed"], 2);
  EXPECT_EQ(pii["reasons"], json::parse(R"({"email":1,"phone":1,"card":1,"cn_id":1})"));
  EXPECT_EQ(stage(report, "url_strip")["reasons"]["url"], 1);
  EXPECT_EQ(report["bytes_in"], std::filesystem::file_size(fixture("mixed.jsonl")));
  expect_adds_up(report);
}

// A corpus with duplicates, near duplicates, PII, junk and bad lines, made at run time.
std::filesystem::path write_corpus(const TempDir& dir, int lines) {
  std::ostringstream out;
  for (int i = 0; i < lines; ++i) {
    switch (i % 11) {
      case 0:
        out << R"({"text": "第)" << i
            << R"(条：华为技术有限公司成立于1987年，总部位于深圳，员工邮箱 user)" << i
            << R"(@example.com。"})";
        break;
      case 3:
        out << R"({"text": "Duplicate paragraph about the company's leave policy."})";
        break;
      case 5: {  // 100 words and an edition number: near duplicates of each other
        out << R"({"text": ")";
        for (int word = 0; word < 100; ++word) out << "lorem" << (word * 37) % 101 << ' ';
        out << "edition " << i << R"("})";
        break;
      }
      case 7:
        out << R"({"text": "===== ***** ====="})";
        break;
      case 9:
        out << (i % 4 == 1 ? R"({"txt": "missing field"})" : R"({"text": broken)");
        break;
      default:
        out << R"({"text": "Record )" << i
            << R"( with card 4111-1111-1111-1111 and https://example.com/)" << i << R"( text."})";
    }
    out << "\n";
  }
  return dir.write("corpus.jsonl", out.str());
}

TEST_F(DataSourceAbi, OutputIsTheSameWhateverTheThreadCount) {
  TempDir dir;
  const auto corpus = write_corpus(dir, 3000);
  auto run = [&](int threads) {
    Source source = make("jsonl", {{"inputs", json::array({corpus.string()})},
                                   {"stages", kAllStages},
                                   {"threads", threads},
                                   {"batch_records", 7}});
    std::vector<Rec> records = source.all(97);
    return std::make_pair(records, source.report());
  };
  const auto [one, one_report] = run(1);
  const auto [four, four_report] = run(4);
  ASSERT_GT(one.size(), 1000u);
  EXPECT_EQ(one, four);
  EXPECT_EQ(one_report, four_report);
  EXPECT_EQ(one_report["records_in"], 3000);
  EXPECT_GT(stage(one_report, "exact_dedup")["dropped"].get<int>(), 200);
  EXPECT_GT(stage(one_report, "near_dedup")["dropped"].get<int>(), 200);
  EXPECT_GT(stage(one_report, "quality_filter")["dropped"].get<int>(), 200);
  expect_adds_up(one_report);
  for (std::size_t i = 1; i < one.size(); ++i) ASSERT_LT(one[i - 1].id, one[i].id);
}

TEST_F(DataSourceAbi, SeekResumesWithExactlyTheRemainingRecords) {
  TempDir dir;
  const auto corpus = write_corpus(dir, 600);
  for (const json& stages : {json::parse(R"(["whitespace", "pii_mask"])"), kAllStages}) {
    const json config = {{"inputs", json::array({corpus.string()})},
                         {"stages", stages},
                         {"threads", 2},
                         {"batch_records", 16}};
    const std::vector<Rec> full = make("jsonl", config).all(50);
    for (uint64_t at : {0u, 1u, 9u, 10u, 333u, 599u, 600u, 5000u}) {
      Source source = make("jsonl", config);
      source.next(3);  // read a little first: seek must start over cleanly
      source.seek(at);
      std::vector<Rec> expected;
      for (const Rec& r : full)
        if (r.id >= at) expected.push_back(r);
      EXPECT_EQ(source.all(41), expected) << "seek(" << at << ") with " << stages.dump();
      const json report = source.report();
      EXPECT_EQ(report["first_id"], at);
      EXPECT_EQ(report["records_in"], at >= 600 ? 0 : 600 - at);
      expect_adds_up(report);
    }
  }
}

TEST_F(DataSourceAbi, SeekSkipsTextAndCsvRecordsExactly) {
  TempDir dir;
  dir.write("t/1.txt", "\xEF\xBB\xBFone\n\ntwo\nlines\n");
  dir.write("t/2.txt", " \n\t\n");  // white space only: no record
  dir.write("t/3.txt", "three\n\n\nfour\n");
  dir.write("c/a.csv", "k,v\n1,\"multi\nline\"\n\n2,x\n");
  dir.write("c/b.csv", "k,v\n3,y\n");
  const std::vector<std::pair<std::string, json>> cases = {
      {"text", {{"inputs", json::array({(dir.path() / "t").string()})}, {"unit", "file"}}},
      {"text", {{"inputs", json::array({(dir.path() / "t").string()})}, {"unit", "paragraph"}}},
      {"text", {{"inputs", json::array({(dir.path() / "t").string()})}, {"unit", "line"}}},
      {"csv", {{"inputs", json::array({(dir.path() / "c").string()})}, {"template", "{k}={v}"}}},
  };
  for (const auto& [component, base] : cases) {
    json config = base;
    config["stages"] = json::array({"whitespace"});  // stateless: the cheap skip
    const std::vector<Rec> full = make(component, config).all();
    ASSERT_FALSE(full.empty());
    for (uint64_t at = 0; at <= full.back().id + 1; ++at) {
      Source source = make(component, config);
      source.seek(at);
      std::vector<Rec> expected;
      for (const Rec& r : full)
        if (r.id >= at) expected.push_back(r);
      EXPECT_EQ(source.all(), expected) << component << " " << base.dump() << " seek(" << at << ")";
      if (at == 0) {  // every byte of the inputs is accounted for, blank ones included
        uint64_t total = 0;
        for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path()))
          if (entry.is_regular_file() &&
              entry.path().extension() == (component == "csv" ? ".csv" : ".txt"))
            total += entry.file_size();
        EXPECT_EQ(source.report()["bytes_in"], total) << component << " " << base.dump();
      }
    }
  }
}

TEST_F(DataSourceAbi, BadJsonLinesAreSkippedAndCountedWithFileAndLine) {
  const std::string file = fixture("bad.jsonl").string();
  Source source = make("jsonl", {{"inputs", json::array({file})}, {"stages", json::array()}});
  const std::vector<Rec> records = source.all();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].text, "第一条记录正常。");
  EXPECT_EQ(records[1].text, "bad bytes: \uFFFD\uFFFD end");
  EXPECT_EQ(records[1].origin, file + ":5");
  EXPECT_EQ(records[2].origin, file + ":9");
  const json report = source.report();
  const json read = stage(report, "read");
  EXPECT_EQ(read["dropped"], 4);
  EXPECT_EQ(read["changed"], 1);
  EXPECT_EQ(read["reasons"],
            json::parse(R"({"oversized":0,"invalid_utf8":0,"invalid_utf8_replaced":1,
                                             "malformed_json":2,"missing_field":1,"wrong_type":1})"));
  ASSERT_EQ(report["errors_total"], 4);
  const json& errors = report["errors"];
  EXPECT_EQ(errors[0]["origin"], file + ":2");
  EXPECT_NE(errors[0]["reason"].get<std::string>().find("malformed JSON"), std::string::npos);
  EXPECT_EQ(errors[1]["origin"], file + ":3");
  EXPECT_EQ(errors[1]["reason"], "no field \"text\"");
  EXPECT_EQ(errors[2]["reason"], "field \"text\" is number, expected a string");
  EXPECT_EQ(errors[3]["origin"], file + ":8");
  EXPECT_EQ(errors[3]["reason"], "expected a JSON object, got array");
  expect_adds_up(report);
  EXPECT_TRUE(services_.logged("4 input problems"));
}

TEST_F(DataSourceAbi, OnErrorFailStopsAtTheFirstBadLineAfterTheRecordsBeforeIt) {
  const std::string file = fixture("bad.jsonl").string();
  Source source = make("jsonl", {{"inputs", json::array({file})},
                                 {"on_error", "fail"},
                                 {"batch_records", 1},
                                 {"stages", json::array()}});
  const std::vector<Rec> first = source.next(10);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].id, 0u);
  const auto [code, message] = error_of([&] { source.next(10); });
  EXPECT_EQ(code, LMF_ERR_DATA);
  EXPECT_NE(message.find(file + ":2: malformed JSON"), std::string::npos) << message;
  EXPECT_EQ(error_of([&] { source.next(10); }).first, LMF_ERR_DATA);  // stays failed
  EXPECT_EQ(source.report()["records_in"], 1);
}

TEST_F(DataSourceAbi, InvalidUtf8CanBeRejected) {
  const std::string file = fixture("bad.jsonl").string();
  Source source = make("jsonl", {{"inputs", json::array({file})}, {"invalid_utf8", "reject"}});
  EXPECT_EQ(source.all().size(), 2u);
  const json report = source.report();
  EXPECT_EQ(stage(report, "read")["reasons"]["invalid_utf8"], 1);
  EXPECT_EQ(report["errors"][3]["origin"], file + ":5");
  EXPECT_NE(report["errors"][3]["reason"].get<std::string>().find("invalid UTF-8 at byte 21"),
            std::string::npos)
      << report["errors"][3];
}

TEST_F(DataSourceAbi, EmptyAndMissingFilesAreCountedOrFail) {
  const std::string empty = fixture("empty.jsonl").string();
  Source source =
      make("jsonl", {{"inputs", json::array({empty, "no/such/file.jsonl", "no/such/*.jsonl",
                                             fixture("mixed.jsonl").string()})}});
  EXPECT_EQ(source.all().size(), 7u);  // the default stages drop the one exact duplicate
  const json report = source.report();
  EXPECT_EQ(report["files"]["missing"], 2);
  EXPECT_EQ(report["files"]["empty"], 1);
  EXPECT_EQ(report["errors_total"], 3);
  std::string reasons;
  for (const json& e : report["errors"])
    reasons += e["origin"].get<std::string>() + " " + e["reason"].get<std::string>() + "\n";
  EXPECT_NE(reasons.find("no/such/file.jsonl input \"no/such/file.jsonl\": no such file or folder"),
            std::string::npos)
      << reasons;
  EXPECT_NE(reasons.find("\"no/such/*.jsonl\": the pattern matches no file"), std::string::npos)
      << reasons;
  EXPECT_NE(reasons.find(empty + " empty file (no records)"), std::string::npos) << reasons;

  const auto [code, message] = error_of([&] {
    make("jsonl", {{"inputs", json::array({"no/such/file.jsonl"})}, {"on_error", "fail"}});
  });
  EXPECT_EQ(code, LMF_ERR_NOT_FOUND);
  EXPECT_NE(message.find("\"no/such/file.jsonl\": no such file or folder"), std::string::npos)
      << message;

  Source failing = make("jsonl", {{"inputs", json::array({empty})}, {"on_error", "fail"}});
  const auto [empty_code, empty_message] = error_of([&] { failing.next(5); });
  EXPECT_EQ(empty_code, LMF_ERR_DATA);
  EXPECT_NE(empty_message.find(empty + ": empty file (no records)"), std::string::npos)
      << empty_message;
}

long max_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

TEST_F(DataSourceAbi, AHundredMegabyteLineIsSkippedWithoutBeingRead) {
  TempDir dir;
  const auto file = dir.path() / "big.jsonl";
  {
    std::ofstream out(file, std::ios::binary);
    out << R"({"text": "before"})"
        << "\n"
        << R"({"text": ")";
    const std::string chunk(1 << 20, 'x');
    for (int i = 0; i < 100; ++i) out << chunk;
    out << "\"}\n"
        << R"({"text": "after"})"
        << "\n";
  }
  const long before = max_rss_kib();
  Source source = make(
      "jsonl",
      {{"inputs", json::array({file.string()})}, {"max_record_bytes", 1 << 20}, {"threads", 2}});
  const std::vector<Rec> records = source.all();
  const long grown_mib = (max_rss_kib() - before) / 1024;
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].text, "before");
  EXPECT_EQ(records[1].text, "after");
  EXPECT_EQ(records[1].id, 2u);
  const json report = source.report();
  EXPECT_EQ(stage(report, "read")["reasons"]["oversized"], 1);
  EXPECT_EQ(report["errors"][0]["origin"], file.string() + ":2");
  EXPECT_NE(
      report["errors"][0]["reason"].get<std::string>().find("more than max_record_bytes (1048576)"),
      std::string::npos);
  EXPECT_GT(report["bytes_in"].get<uint64_t>(), 100u << 20);
  // Peak memory: a chunk and at most max_record_bytes, never the 100 MB line. (Each test
  // runs in its own process under ctest, so the peak before is this test's.)
  EXPECT_LT(grown_mib, 40) << "the peak resident memory grew by " << grown_mib << " MiB";
  expect_adds_up(report);
}

TEST_F(DataSourceAbi, CsvRowsRenderThroughTheTemplate) {
  const std::string file = fixture("enterprises.csv").string();
  Source source = make("csv", {{"inputs", json::array({file})},
                               {"template", "{name} was founded in {year} in {city}."},
                               {"keep_fields", json::array({"name", "contact"})},
                               {"stages", json::array({"whitespace", "pii_mask"})}});
  const std::vector<Rec> records = source.all();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].text, "华为 was founded in 1987 in 深圳.");
  EXPECT_EQ(records[0].fields, R"({"contact":"[EMAIL]","name":"华为"})");
  EXPECT_EQ(records[1].text, "Acme, Inc. was founded in 1999 in New\nYork.");
  EXPECT_EQ(records[1].origin, file + ":3");
  EXPECT_EQ(records[2].origin, file + ":5");
  EXPECT_EQ(records[2].fields, R"({"contact":"电话 [PHONE]，\"总机\"","name":"腾讯"})");
  EXPECT_EQ(stage(source.report(), "pii_mask")["reasons"]["phone"], 1);
}

TEST_F(DataSourceAbi, CsvBadRowsAndHeadersAreNamed) {
  const std::string file = fixture("bad_columns.csv").string();
  Source source = make("csv", {{"inputs", json::array({file})}, {"template", "{name}（{city}）"}});
  const std::vector<Rec> records = source.all();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].text, "比亚迪（深圳）");
  const json report = source.report();
  EXPECT_EQ(stage(report, "read")["reasons"]["wrong_column_count"], 1);
  EXPECT_EQ(stage(report, "read")["reasons"]["malformed_csv"], 1);
  EXPECT_EQ(report["errors"][0]["origin"], file + ":3");
  EXPECT_EQ(report["errors"][0]["reason"], "expected 3 columns (as the header at line 1), got 2");
  EXPECT_EQ(report["errors"][1]["origin"], file + ":4");
  expect_adds_up(report);

  Source wrong_template =
      make("csv", {{"inputs", json::array({file})}, {"template", "{name} {founded}"}});
  EXPECT_TRUE(wrong_template.all().empty());
  const json bad_header = wrong_template.report();
  EXPECT_EQ(bad_header["files"]["bad_header"], 1);
  EXPECT_NE(
      bad_header["errors"][0]["reason"].get<std::string>().find("the template uses {founded}"),
      std::string::npos)
      << bad_header["errors"][0];

  const auto [code, message] = error_of([&] {
    make("csv", {{"inputs", json::array({file})}, {"template", "{name"}});
  });
  EXPECT_EQ(code, LMF_ERR_INVALID_ARGUMENT);
  EXPECT_NE(message.find("config field \"template\""), std::string::npos) << message;

  Source tsv = make("csv", {{"inputs", json::array({fixture("persons.tsv").string()})},
                            {"delimiter", "\t"},
                            {"template", "{name}成立于{year}年，位于{city}。"}});
  const std::vector<Rec> rows = tsv.all();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].text, "小米成立于2010年，位于北京。");
}

TEST_F(DataSourceAbi, TextFilesByFileParagraphAndLine) {
  const std::string folder = fixture("text").string();
  Source by_paragraph = make("text", {{"inputs", json::array({folder})}, {"unit", "paragraph"}});
  const std::vector<Rec> paragraphs = by_paragraph.all();
  std::vector<std::string> origins;
  for (const Rec& r : paragraphs) origins.push_back(r.origin.substr(folder.size()));
  EXPECT_EQ(origins, (std::vector<std::string>{"/a.txt:1", "/a.txt:4", "/a.txt:9", "/sub/b.md:1",
                                               "/sub/b.md:3", "/sub/c.log:1"}));
  EXPECT_EQ(paragraphs[1].text, "The second paragraph is in English.\nIt has two lines.");
  EXPECT_EQ(paragraphs[2].text, "第三段：联系电话 13912345678。");

  Source by_file =
      make("text", {{"inputs", json::array({folder + "/**/*.txt", folder + "/sub/*.md"})}});
  const std::vector<Rec> files = by_file.all();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].origin, folder + "/a.txt:1");
  EXPECT_NE(files[0].text.find("\n\nThe second paragraph"), std::string::npos);

  Source by_line = make(
      "text",
      {{"inputs", json::array({folder})}, {"unit", "line"}, {"extensions", json::array({".txt"})}});
  EXPECT_EQ(by_line.all().size(), 5u);
}

TEST_F(DataSourceAbi, ChatMessagesAndPromptResponsePairsStayStructured) {
  Source chat = make("jsonl", {{"inputs", json::array({fixture("messages.jsonl").string()})},
                               {"format", "messages"},
                               {"keep_fields", json::array({"id"})},
                               {"stages", json::array({"whitespace", "pii_mask"})}});
  const std::vector<Rec> chats = chat.all();
  ASSERT_EQ(chats.size(), 2u);
  EXPECT_EQ(chats[0].text,
            "system: 你是企业知识库助手。\nuser: 华为成立于哪一年？我的邮箱是 [EMAIL]\nassistant: "
            "华为成立于1987年。");
  const json fields = json::parse(chats[0].fields);
  EXPECT_EQ(fields["id"], "c1");
  EXPECT_EQ(fields["messages"][1],
            json::parse(R"({"role":"user","content":"华为成立于哪一年？我的邮箱是 [EMAIL]"})"));
  EXPECT_EQ(json::parse(chats[1].fields)["messages"][0]["content"],
            "What is the capital of France?");
  const json report = chat.report();
  EXPECT_EQ(stage(report, "read")["reasons"]["missing_field"], 2);
  EXPECT_NE(report["errors"][1]["reason"].get<std::string>().find(
                "messages[0] needs \"role\" and \"content\""),
            std::string::npos);

  Source pairs = make("jsonl", {{"inputs", json::array({fixture("pairs.jsonl").string()})},
                                {"format", "prompt_response"},
                                {"prompt_field", "question"},
                                {"response_field", "answer"},
                                {"stages", json::array({"pii_mask"})}});
  const std::vector<Rec> qa = pairs.all();
  ASSERT_EQ(qa.size(), 2u);
  EXPECT_EQ(qa[1].text, "How do I reset my password?\nCall [PHONE] or write to [EMAIL].");
  EXPECT_EQ(
      json::parse(qa[1].fields),
      json::parse(
          R"({"prompt":"How do I reset my password?","response":"Call [PHONE] or write to [EMAIL]."})"));
  EXPECT_EQ(pairs.report()["errors"][0]["reason"], "no field \"answer\"");
}

TEST_F(DataSourceAbi, TextFieldMayBeAJsonPointer) {
  TempDir dir;
  const auto file = dir.write("nested.jsonl", R"({"doc": {"body": "正文内容", "id": 7}})"
                                              "\n"
                                              R"({"doc": {"title": "无正文"}})"
                                              "\n");
  Source source = make("jsonl", {{"inputs", json::array({file.string()})},
                                 {"text_field", "/doc/body"},
                                 {"keep_fields", json::array({"*"})}});
  const std::vector<Rec> records = source.all();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].text, "正文内容");
  EXPECT_EQ(json::parse(records[0].fields)["doc"]["id"], 7);
  EXPECT_EQ(source.report()["errors"][0]["reason"], "no field \"/doc/body\"");
  const auto [code, message] = error_of([&] {
    make("jsonl", {{"inputs", json::array({file.string()})}, {"prompt_field", "/a~2"}});
  });
  EXPECT_EQ(code, LMF_ERR_INVALID_ARGUMENT);
  EXPECT_NE(message.find("config field \"prompt_field\""), std::string::npos) << message;
}

TEST_F(DataSourceAbi, RunStageWritesTheCleanedJsonlAndReturnsTheReport) {
  TempDir dir;
  const auto output = dir.path() / "out" / "clean.jsonl";
  Source source = make("jsonl", {{"inputs", json::array({fixture("mixed.jsonl").string()})},
                                 {"stages", kAllStages},
                                 {"keep_fields", json::array({"label"})}});
  const json summary = source.run_stage({{"output", output.string()}});
  EXPECT_EQ(summary["records_written"], 6);
  EXPECT_EQ(summary["report"]["records_out"], 6);
  EXPECT_NE(summary["table"].get<std::string>().find("pii_mask"), std::string::npos);
  std::ifstream in(output);
  std::string line;
  std::vector<json> lines;
  while (std::getline(in, line)) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0]["label"], "company");
  EXPECT_EQ(lines[0]["record_id"], 0);
  EXPECT_EQ(lines[2]["text"], "联系邮箱:[EMAIL],电话:[PHONE]。");
  EXPECT_FALSE(std::filesystem::exists(output.string() + ".partial"));
  const auto [code, message] = error_of([&] { source.run_stage(json::object()); });
  EXPECT_EQ(code, LMF_ERR_INVALID_ARGUMENT);
  EXPECT_NE(message.find("params.output"), std::string::npos);
}

TEST_F(DataSourceAbi, ReportsProgressAndStopsWhenCancelled) {
  TempDir dir;
  const auto corpus = write_corpus(dir, 500);
  Source source =
      make("jsonl", {{"inputs", json::array({corpus.string()})}, {"batch_records", 10}});
  source.next(10);
  {
    std::lock_guard lock(services_.mutex);
    ASSERT_EQ(services_.tasks.size(), 2u);
    EXPECT_EQ(services_.tasks[0].total, static_cast<int64_t>(std::filesystem::file_size(corpus)));
    EXPECT_GT(services_.tasks[0].done, 0);
    EXPECT_EQ(services_.tasks[1].done, 10);
  }
  services_.cancel_flag = true;
  EXPECT_EQ(error_of([&] { source.next(10); }).first, LMF_ERR_CANCELLED);
  services_.cancel_flag = false;
  source.seek(0);  // a seek recovers
  EXPECT_EQ(source.all(100).front().id, 0u);
  std::lock_guard lock(services_.mutex);
  for (const auto& task : services_.tasks) EXPECT_TRUE(task.ended) << task.label;
}

}  // namespace
}  // namespace lmf::data
