// Inputs: globs and the expansion of files, folders and globs into one sorted list
// (Note [Input order]).
#include "io/glob.h"
#include "io/input_files.h"
#include "tests/data_source/test_files.h"

#include <gtest/gtest.h>

namespace lmf::data {
namespace {

using testing::TempDir;

TEST(Glob, MatchesSegmentsAndDoubleStar) {
  EXPECT_TRUE(match_segment("*.jsonl", "a.jsonl"));
  EXPECT_FALSE(match_segment("*.jsonl", "a.json"));
  EXPECT_TRUE(match_segment("part-?.txt", "part-1.txt"));
  EXPECT_TRUE(match_segment("数据?.txt", "数据一.txt"));  // '?' is one character, not one byte
  EXPECT_FALSE(match_segment("*", ".hidden"));
  EXPECT_TRUE(match_path("**/*.txt", "a.txt"));
  EXPECT_TRUE(match_path("**/*.txt", "x/y/a.txt"));
  EXPECT_TRUE(match_path("x/**/a.txt", "x/a.txt"));
  EXPECT_FALSE(match_path("*/a.txt", "x/y/a.txt"));
  EXPECT_FALSE(match_path("**/a.txt", ".git/a.txt"));
}

struct InTempDir {
  InTempDir() : previous(std::filesystem::current_path()) {
    std::filesystem::current_path(dir.path());
  }
  ~InTempDir() { std::filesystem::current_path(previous); }
  TempDir dir;
  std::filesystem::path previous;
};

std::vector<std::string> names(const ExpandedInputs& inputs) {
  std::vector<std::string> out;
  for (const InputFile& file : inputs.files) out.push_back(file.name);
  return out;
}

TEST(ExpandInputs, ResolvesRelativePathsAgainstTheWorkingDirectoryInSortedOrder) {
  InTempDir cwd;
  for (const char* name : {"data/b.jsonl", "data/a.jsonl", "data/sub/c.jsonl", "data/sub/d.txt",
                           "data/.hidden/e.jsonl", "data/10.jsonl"})
    cwd.dir.write(name, "{}\n");
  EXPECT_EQ(names(expand_inputs({"data/*.jsonl"}, {})),
            (std::vector<std::string>{"data/10.jsonl", "data/a.jsonl", "data/b.jsonl"}));
  EXPECT_EQ(names(expand_inputs({"data/**/*.jsonl"}, {})),
            (std::vector<std::string>{"data/10.jsonl", "data/a.jsonl", "data/b.jsonl",
                                      "data/sub/c.jsonl"}));
  EXPECT_EQ(names(expand_inputs({"data"}, {".jsonl"})),
            (std::vector<std::string>{"data/10.jsonl", "data/a.jsonl", "data/b.jsonl",
                                      "data/sub/c.jsonl"}));
  EXPECT_EQ(
      names(expand_inputs({"data/sub/d.txt", "data/a.jsonl"}, {})),
      (std::vector<std::string>{"data/sub/d.txt", "data/a.jsonl"}));  // inputs keep their order
  const ExpandedInputs twice = expand_inputs({"data/a.jsonl", "data/*.jsonl"}, {});
  EXPECT_EQ(names(twice),
            (std::vector<std::string>{"data/a.jsonl", "data/10.jsonl", "data/b.jsonl"}));
  EXPECT_EQ(twice.duplicates, 1u);
}

TEST(ExpandInputs, ReportsMissingFilesAndGlobsMatchingNothing) {
  InTempDir cwd;
  cwd.dir.write("data/a.jsonl", "{}\n");
  const ExpandedInputs inputs =
      expand_inputs({"data/missing.jsonl", "nothing/*.jsonl", "data"}, {".csv"});
  ASSERT_EQ(inputs.problems.size(), 3u);
  EXPECT_NE(inputs.problems[0].message.find("\"data/missing.jsonl\": no such file or folder"),
            std::string::npos);
  EXPECT_NE(inputs.problems[0].message.find("working directory"), std::string::npos);
  EXPECT_NE(inputs.problems[1].message.find("\"nothing/*.jsonl\": the pattern matches no file"),
            std::string::npos);
  EXPECT_NE(inputs.problems[2].message.find("no file with extension .csv"), std::string::npos);
  EXPECT_TRUE(inputs.files.empty());
}

}  // namespace
}  // namespace lmf::data
