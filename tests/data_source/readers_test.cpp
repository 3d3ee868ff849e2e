// The pieces of the readers: the chunked line splitter (oversized records measured, not
// stored), RFC 4180 field splitting, and the CSV template.
#include "io/line_splitter.h"
#include "readers/csv_reader.h"
#include "readers/csv_template.h"
#include "tests/data_source/test_files.h"

#include <gtest/gtest.h>

namespace lmf::data {
namespace {

using testing::TempDir;

std::vector<std::string> lines_of(const std::filesystem::path& file, std::size_t max_bytes,
                                  LineSplitter::Quoting quoting = LineSplitter::Quoting::none,
                                  std::vector<LineSplitter::Line>* infos = nullptr) {
  LineSplitter splitter(file, max_bytes, quoting);
  std::vector<std::string> out;
  std::string text;
  LineSplitter::Line line;
  while (splitter.next(&text, line)) {
    out.push_back(text);
    if (infos != nullptr) infos->push_back(line);
  }
  return out;
}

TEST(LineSplitter, SplitsOnLineBreaksAndDropsTheBomAndCarriageReturns) {
  TempDir dir;
  const auto file = dir.write("a.txt",
                              "\xEF\xBB\xBF"
                              "first\r\nsecond\n\n  \nlast without break");
  std::vector<LineSplitter::Line> infos;
  EXPECT_EQ(lines_of(file, 100, LineSplitter::Quoting::none, &infos),
            (std::vector<std::string>{"first", "second", "", "  ", "last without break"}));
  EXPECT_EQ(infos[1].first_line, 2u);
  EXPECT_TRUE(infos[2].blank);
  EXPECT_TRUE(infos[3].blank);
  EXPECT_EQ(infos[4].first_line, 5u);
}

TEST(LineSplitter, MeasuresAnOversizedLineWithoutKeepingIt) {
  TempDir dir;
  const std::string big(3 * LineSplitter::kChunkBytes + 17, 'x');  // spans several chunks
  const auto file = dir.write("big.txt", "short\n" + big + "\nafter\n");
  std::vector<LineSplitter::Line> infos;
  const auto lines = lines_of(file, 1000, LineSplitter::Quoting::none, &infos);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_TRUE(infos[1].oversized);
  EXPECT_EQ(infos[1].bytes, big.size());
  EXPECT_EQ(lines[1], "");
  EXPECT_EQ(lines[2], "after");
  EXPECT_EQ(infos[2].first_line, 3u);
}

TEST(LineSplitter, CsvQuotingKeepsLineBreaksInsideQuotedFields) {
  TempDir dir;
  const auto file = dir.write("a.csv", "a,\"x\ny\",c\nd,\"\"\"q\"\"\",f\n5\" screen,g,h\n");
  std::vector<LineSplitter::Line> infos;
  EXPECT_EQ(lines_of(file, 100, LineSplitter::Quoting::csv, &infos),
            (std::vector<std::string>{"a,\"x\ny\",c", "d,\"\"\"q\"\"\",f", "5\" screen,g,h"}));
  EXPECT_EQ(infos[1].first_line, 3u);  // the first record spans lines 1 and 2
}

TEST(CsvSplit, FollowsRfc4180) {
  std::vector<std::string> fields;
  std::string error;
  ASSERT_TRUE(
      split_csv_record("a,\"b,c\",\"say \"\"hi\"\"\",,\"multi\nline\"", ',', fields, error));
  EXPECT_EQ(fields, (std::vector<std::string>{"a", "b,c", "say \"hi\"", "", "multi\nline"}));
  ASSERT_TRUE(split_csv_record("x\ty\t", '\t', fields, error));
  EXPECT_EQ(fields, (std::vector<std::string>{"x", "y", ""}));
  EXPECT_FALSE(split_csv_record("\"open,b", ',', fields, error));
  EXPECT_NE(error.find("not closed"), std::string::npos);
  EXPECT_FALSE(split_csv_record("\"a\"b,c", ',', fields, error));
  EXPECT_NE(error.find("after the closing quote"), std::string::npos);
}

TEST(CsvTemplate, FillsColumnsAndEscapesBraces) {
  CsvTemplate t("{name} was founded in {year} in {city}. {{literal}}");
  EXPECT_EQ(t.fields(), (std::vector<std::string>{"name", "year", "city"}));
  const std::vector<std::string> columns = {"city", "name", "year"};
  EXPECT_TRUE(t.bind(columns).empty());
  std::string out;
  t.render(columns, {"深圳", "华为", "1987"}, out);
  EXPECT_EQ(out, "华为 was founded in 1987 in 深圳. {literal}");
  CsvTemplate missing("{name} {founded}");
  EXPECT_EQ(missing.bind(columns), std::vector<std::string>{"founded"});
  CsvTemplate plain("");
  plain.render({"a", "b"}, {"1", "2"}, out);
  EXPECT_EQ(out, "a: 1\nb: 2");
  EXPECT_THROW(CsvTemplate("{open"), std::invalid_argument);
  EXPECT_THROW(CsvTemplate("close}"), std::invalid_argument);
  EXPECT_THROW(CsvTemplate("{}"), std::invalid_argument);
}

}  // namespace
}  // namespace lmf::data
