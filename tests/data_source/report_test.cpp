// The report's JSON and its table (report_table.h, which `data prepare` can reuse).
#include "pipeline/report.h"
#include "report_table.h"

#include <gtest/gtest.h>

namespace lmf::data {
namespace {

TEST(Report, JsonHasTheDocumentedFieldsAndCapsTheErrorList) {
  Report report("jsonl", 2);
  report.add_stage("read", {"oversized", "malformed_json"}, nlohmann::json::object());
  report.add_stage("exact_dedup", {"duplicate"}, {{"ignore_case", true}});
  report.reset(0);
  report.set_files(3, 0);
  report.add_input(10, 1000);
  for (int i = 0; i < 8; ++i) report.add_output(90);
  Tally read{0, 1, {0, 1}};
  Tally dedup{0, 1, {1}};
  report.add_stage_tally(0, read);
  report.add_stage_tally(1, dedup);
  for (int line = 1; line <= 3; ++line)
    report.add_error("a.jsonl:" + std::to_string(line), "malformed JSON");
  const nlohmann::json json = report.to_json();
  EXPECT_EQ(json["records_in"], 10);
  EXPECT_EQ(json["records_out"], 8);
  EXPECT_EQ(json["records_dropped"], 2);
  EXPECT_EQ(json["bytes_in"], 1000);
  EXPECT_EQ(json["bytes_out"], 720);
  EXPECT_EQ(json["stages"][1]["name"], "exact_dedup");
  EXPECT_EQ(json["stages"][1]["reasons"]["duplicate"], 1);
  EXPECT_EQ(json["stages"][1]["params"]["ignore_case"], true);
  EXPECT_EQ(json["errors"].size(), 2u);
  EXPECT_EQ(json["errors"][0]["origin"], "a.jsonl:1");
  EXPECT_EQ(json["errors_total"], 3);
  EXPECT_EQ(json["files"]["listed"], 3);

  const std::string table = render_report_table(json);
  EXPECT_NE(table.find("jsonl: 10 records in, 8 out, 2 dropped; 1.00 kB in, 720 B out"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("exact_dedup"), std::string::npos);
  EXPECT_NE(table.find("duplicate 1"), std::string::npos);
  EXPECT_NE(table.find("input problems: 3 (2 listed)"), std::string::npos);
  EXPECT_NE(table.find("a.jsonl:2  malformed JSON"), std::string::npos);
}

}  // namespace
}  // namespace lmf::data
