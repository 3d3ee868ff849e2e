#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/config/compose.h"
#include "core/config/config_error.h"
#include "core/config/json_pointer.h"

#ifndef LMF_TEST_FIXTURES_DIR
#error "LMF_TEST_FIXTURES_DIR must name the absolute path of tests/fixtures"
#endif

namespace lmf::config {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path fixture(const std::string& relative) {
  return fs::path(LMF_TEST_FIXTURES_DIR) / "config" / relative;
}

std::string fixture_name(const std::string& relative) {
  return fixture(relative).string();
}

// gtest only: the test build links no gmock matchers.
::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// Loads a file that must fail and returns the error.
ConfigError load_error(const fs::path& file) {
  try {
    load_config(file);
  } catch (const ConfigError& error) {
    return error;
  }
  ADD_FAILURE() << "expected ConfigError loading " << file;
  return ConfigError("", "", "");
}

// A fresh directory under the system temp directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = fs::temp_directory_path() /
            ("lmf_config_test_" + std::to_string(stamp) + "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  fs::path write(const std::string& relative, const std::string& text) const {
    const fs::path file = path_ / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(ConfigErrorTest, WhatNamesFilePointerAndMessage) {
  const ConfigError error("configs/base.json", "/stages/1/config/bits",
                          "expected integer, got string \"four\"");
  EXPECT_STREQ(error.what(),
               "configs/base.json: /stages/1/config/bits: expected integer, got string \"four\"");
  EXPECT_EQ(error.file(), "configs/base.json");
  EXPECT_EQ(error.pointer(), "/stages/1/config/bits");
  EXPECT_EQ(error.message(), "expected integer, got string \"four\"");
  EXPECT_EQ(error.line(), 0);
}

TEST(ConfigErrorTest, SyntaxErrorReadsFileLineColumn) {
  const ConfigError error("configs/base.json", 3, 14, "unexpected ','");
  EXPECT_STREQ(error.what(), "configs/base.json:3:14: unexpected ','");
  EXPECT_EQ(error.line(), 3);
  EXPECT_EQ(error.column(), 14);
  EXPECT_EQ(error.pointer(), "");
}

TEST(ConfigErrorTest, EmptyPartsAreLeftOut) {
  EXPECT_STREQ(ConfigError("", "/a", "bad").what(), "/a: bad");
  EXPECT_STREQ(ConfigError("f.json", "", "bad").what(), "f.json: bad");
}

TEST(JsonPointerTest, EscapesTildeBeforeSlash) {
  EXPECT_EQ(escape_pointer_token("a/b~c"), "a~1b~0c");
  // "~1" in a key must not come back as "/".
  EXPECT_EQ(escape_pointer_token("~1"), "~01");
  EXPECT_EQ(append_pointer("/a", "b/c"), "/a/b~1c");
  EXPECT_EQ(append_pointer("/a", std::size_t{3}), "/a/3");
  EXPECT_EQ(append_pointer("", ""), "/");
}

TEST(JsonPointerTest, DottedKeyToPointer) {
  EXPECT_EQ(to_json_pointer("stages.1.config.bits"), "/stages/1/config/bits");
  EXPECT_EQ(to_json_pointer("a/b.c~d"), "/a~1b/c~0d");
  EXPECT_EQ(to_json_pointer("single"), "/single");
  EXPECT_EQ(to_json_pointer(""), "");
}

TEST(ComposeTest, IncludesMergeInOrderAndOwnKeysWin) {
  const ComposedConfig config = load_config(fixture("compose/pipeline.json"));
  const json& doc = config.document;
  EXPECT_EQ(doc["model"]["name"], "base-model");  // only base sets it
  EXPECT_EQ(doc["model"]["dtype"], "bf16");       // training.json comes after base.json
  EXPECT_EQ(doc["model"]["layers"], 24);          // the including file's own key wins
  EXPECT_EQ(doc["seed"], 7);
  EXPECT_EQ(doc["learning_rate"], 0.001);
  EXPECT_EQ(doc["stages"], json::parse(R"([{"kind": "quantizer", "name": "rtn"}])"));
}

TEST(ComposeTest, ObjectsMergeRecursivelyArraysAndScalarsAreReplaced) {
  const ComposedConfig config = load_config(fixture("compose/pipeline.json"));
  const json& rope = config.document["model"]["rope"];
  EXPECT_EQ(rope["theta"], 500000);
  EXPECT_TRUE(rope.contains("scaling"));  // kept from base.json: a merge, not a replacement
  EXPECT_TRUE(rope["scaling"].is_null());
  // Arrays are not concatenated.
  EXPECT_EQ(config.document["tags"], json::parse(R"(["train", "long-context"])"));
}

TEST(ComposeTest, IncludeOrderDecidesWhichValueWins) {
  const ComposedConfig config = load_config(fixture("compose/reversed.json"));
  EXPECT_EQ(config.document["model"]["dtype"], "fp16");
  EXPECT_EQ(config.document["model"]["rope"]["theta"], 10000);
  EXPECT_EQ(config.document["tags"], json::parse(R"(["base"])"));
  EXPECT_EQ(config.document["learning_rate"], 0.001);  // still merged in
}

TEST(ComposeTest, IncludeMayBeASingleString) {
  const ComposedConfig config = load_config(fixture("compose/single.json"));
  EXPECT_EQ(config.document["seed"], 3);
  EXPECT_EQ(config.document["model"]["name"], "base-model");
}

TEST(ComposeTest, IncludeKeyDoesNotRemain) {
  EXPECT_FALSE(load_config(fixture("compose/pipeline.json")).document.contains("include"));
  EXPECT_FALSE(load_config(fixture("compose/nested/top.json")).document.contains("include"));
}

TEST(ComposeTest, FileWithoutIncludeLoadsAsIs) {
  const ComposedConfig config = load_config(fixture("compose/base.json"));
  std::ifstream in(fixture("compose/base.json"));
  EXPECT_EQ(config.document, json::parse(in));
  EXPECT_EQ(config.file_of("/model/name"), fixture_name("compose/base.json"));
}

TEST(ComposeTest, NestedIncludesResolveRelativeToTheIncludingFile) {
  const ComposedConfig config = load_config(fixture("compose/nested/top.json"));
  const json& doc = config.document;
  EXPECT_EQ(doc["top"], true);
  EXPECT_EQ(doc["mid"], 1);
  EXPECT_EQ(doc["model"]["name"], "mid-model");  // mid.json overrides base.json
  EXPECT_EQ(doc["model"]["layers"], 12);         // from base.json, two levels down
}

TEST(ComposeTest, SameFileIncludedTwiceIsNotACycle) {
  const ComposedConfig config = load_config(fixture("compose/twice.json"));
  // The second base.json wins over training.json.
  EXPECT_EQ(config.document["model"]["dtype"], "fp16");
  EXPECT_EQ(config.document["learning_rate"], 0.001);
}

TEST(ComposeTest, OriginsNameTheFileThatSuppliedEachValue) {
  const ComposedConfig config = load_config(fixture("compose/pipeline.json"));
  const std::string base = fixture_name("compose/base.json");
  const std::string training = fixture_name("compose/training.json");
  const std::string pipeline = fixture_name("compose/pipeline.json");
  EXPECT_EQ(config.file_of("/model/name"), base);
  EXPECT_EQ(config.file_of("/model/dtype"), training);
  EXPECT_EQ(config.file_of("/model/layers"), pipeline);
  EXPECT_EQ(config.file_of("/model/rope/theta"), training);
  EXPECT_EQ(config.file_of("/model/rope/scaling"), base);
  EXPECT_EQ(config.file_of("/stages/0/kind"), base);  // inside a value base.json placed
  EXPECT_EQ(config.file_of("/tags/1"), training);
  EXPECT_EQ(config.file_of("/seed"), pipeline);
  EXPECT_EQ(config.file_of("/model"), base);              // the file that created the object
  EXPECT_EQ(config.file_of("/no/such/field"), pipeline);  // the top file as fallback
  EXPECT_EQ(config.file_of(""), pipeline);
}

TEST(ComposeTest, OriginsThroughNestedIncludes) {
  const ComposedConfig config = load_config(fixture("compose/nested/top.json"));
  EXPECT_EQ(config.file_of("/model/layers"), fixture_name("compose/base.json"));
  EXPECT_EQ(config.file_of("/model/name"), fixture_name("compose/nested/mid/mid.json"));
  EXPECT_EQ(config.file_of("/mid"), fixture_name("compose/nested/mid/mid.json"));
  EXPECT_EQ(config.file_of("/top"), fixture_name("compose/nested/top.json"));
}

TEST(ComposeTest, ReplacingAnObjectForgetsTheOriginsBeneathIt) {
  const ComposedConfig config = load_config(fixture("compose/replace_object.json"));
  EXPECT_EQ(config.document["model"], "just-a-name");
  EXPECT_EQ(config.file_of("/model"), fixture_name("compose/replace_object.json"));
  EXPECT_EQ(config.file_of("/model/dtype"), fixture_name("compose/replace_object.json"));
  EXPECT_EQ(config.origins.count("/model/name"), 0u);
}

TEST(ComposeTest, OriginPrefixesMatchWholeSegments) {
  ComposedConfig config;
  config.origins[""] = "top.json";
  config.record_origin("/a", "a.json");
  config.record_origin("/ab", "ab.json");
  config.record_origin("/a~1b", "slash.json");
  EXPECT_EQ(config.file_of("/a/x"), "a.json");
  EXPECT_EQ(config.file_of("/abc"), "top.json");  // "/a" is not a prefix of "/abc"
  EXPECT_EQ(config.file_of("/ab/0"), "ab.json");
  EXPECT_EQ(config.file_of("/a~1b/c"), "slash.json");
}

TEST(ComposeTest, RecordOriginErasesRecordsBeneath) {
  ComposedConfig config;
  config.record_origin("/a/b", "first.json");
  config.record_origin("/a/b/c", "second.json");
  config.record_origin("/a/bc", "sibling.json");
  // Keys with characters that sort before '/' sit between "/a" and "/a/..." in the map.
  config.record_origin("/a-b", "dash.json");
  config.record_origin("/a", "third.json");
  EXPECT_EQ(config.file_of("/a/b/c"), "third.json");
  EXPECT_EQ(config.file_of("/a/bc"), "third.json");
  EXPECT_EQ(config.file_of("/a-b"), "dash.json");
  EXPECT_EQ(config.origins.size(), 2u);
}

TEST(ComposeTest, OriginsBeneathAReplacedValueAreCarriedOver) {
  TempDir dir;
  // inner.json's origins under /model ("/model/name") must reach the top, past "/model-x".
  dir.write("inner.json", R"({"model": {"name": "n"}, "model-x": 1})");
  dir.write("outer.json", R"({"include": "inner.json", "model": {"layers": 2}})");
  const fs::path top = dir.write("top.json", R"({"model": 5, "include": "outer.json"})");
  dir.write("top2.json", R"({"include": ["top.json", "outer.json"]})");
  const ComposedConfig config = load_config(dir.path() / "top2.json");
  EXPECT_EQ(config.document["model"], json::parse(R"({"name": "n", "layers": 2})"));
  EXPECT_EQ(config.file_of("/model/name"), (dir.path() / "inner.json").string());
  EXPECT_EQ(config.file_of("/model/layers"), (dir.path() / "outer.json").string());
  EXPECT_EQ(config.file_of("/model-x"), (dir.path() / "inner.json").string());
  EXPECT_EQ(load_config(top).document["model"], 5);
}

TEST(ComposeTest, KeysWithSlashesGetEscapedOrigins) {
  TempDir dir;
  dir.write("inc.json", R"({"a/b": {"c~d": 1}})");
  const fs::path top = dir.write("top.json", R"({"include": "inc.json", "x": 2})");
  const ComposedConfig config = load_config(top);
  EXPECT_EQ(config.document["a/b"]["c~d"], 1);
  EXPECT_EQ(config.file_of("/a~1b/c~0d"), (dir.path() / "inc.json").string());
  EXPECT_EQ(config.file_of("/x"), top.string());
}

TEST(ComposeErrorTest, IncludeCycleNamesTheFilesOfTheCycle) {
  const ConfigError error = load_error(fixture("cycle/a.json"));
  const std::string a = fixture_name("cycle/a.json");
  const std::string b = fixture_name("cycle/b.json");
  EXPECT_EQ(error.message(), "include cycle: " + a + " -> " + b + " -> " + a);
  EXPECT_EQ(error.file(), b);  // the file whose include closes the cycle
  EXPECT_EQ(error.pointer(), "/include/0");
}

TEST(ComposeErrorTest, CycleBelowTheTopFileNamesOnlyTheCycle) {
  const ConfigError error = load_error(fixture("cycle/start.json"));
  EXPECT_TRUE(Contains(error.what(), "include cycle: " + fixture_name("cycle/a.json") + " -> " +
                                         fixture_name("cycle/b.json")));
  EXPECT_FALSE(Contains(error.message(), "start.json"));
}

TEST(ComposeErrorTest, SelfIncludeIsACycle) {
  const ConfigError error = load_error(fixture("cycle/self.json"));
  EXPECT_EQ(error.file(), fixture_name("cycle/self.json"));
  EXPECT_TRUE(Contains(error.message(), "include cycle"));
}

TEST(ComposeErrorTest, CycleThroughAnotherSpellingOfThePathIsFound) {
  TempDir dir;
  const fs::path a = dir.write("a.json", R"({"include": "sub/b.json"})");
  dir.write("sub/b.json", R"({"include": "../sub/../a.json"})");
  const ConfigError error = load_error(a);
  EXPECT_TRUE(Contains(error.message(), "include cycle"));
  EXPECT_EQ(error.file(), (dir.path() / "sub/b.json").string());
}

TEST(ComposeErrorTest, SyntaxErrorNamesLineAndColumn) {
  const ConfigError error = load_error(fixture("errors/syntax.json"));
  // Line 4 is `    "layers": 12,,`: the second comma, at column 18, is the error.
  EXPECT_EQ(error.line(), 4);
  EXPECT_EQ(error.column(), 18);
  EXPECT_EQ(error.file(), fixture_name("errors/syntax.json"));
  EXPECT_EQ(std::string(error.what()).rfind(fixture_name("errors/syntax.json") + ":4:18: ", 0), 0u)
      << error.what();
  EXPECT_FALSE(Contains(error.message(), "json.exception"));
}

TEST(ComposeErrorTest, SyntaxErrorColumnsCountFromTheLineStart) {
  TempDir dir;
  // CRLF line ends: the '\r' belongs to the previous line, not to the column count.
  const fs::path file = dir.write("crlf.json", "{\r\n  \"a\": ,\r\n}");
  const ConfigError error = load_error(file);
  EXPECT_EQ(error.line(), 2);
  EXPECT_EQ(error.column(), 8);
}

TEST(ComposeErrorTest, SyntaxErrorOnTheFirstLine) {
  TempDir dir;
  const ConfigError error = load_error(dir.write("first.json", R"({"a": tru})"));
  EXPECT_EQ(error.line(), 1);
  EXPECT_EQ(error.column(), 10);
}

TEST(ComposeErrorTest, EmptyFileIsASyntaxError) {
  const ConfigError error = load_error(fixture("errors/empty.json"));
  EXPECT_EQ(error.line(), 1);
  EXPECT_EQ(error.column(), 1);
  EXPECT_EQ(error.file(), fixture_name("errors/empty.json"));
}

TEST(ComposeErrorTest, SyntaxErrorInAnIncludedFileNamesThatFile) {
  const ConfigError error = load_error(fixture("errors/include_syntax.json"));
  EXPECT_EQ(error.file(), fixture_name("errors/syntax.json"));
  EXPECT_EQ(error.line(), 4);
}

TEST(ComposeErrorTest, MissingFile) {
  const fs::path missing = fixture("errors/no_such_file.json");
  const ConfigError error = load_error(missing);
  EXPECT_EQ(error.file(), missing.string());
  EXPECT_EQ(error.message(), "file not found");
  EXPECT_EQ(std::string(error.what()), missing.string() + ": file not found");
}

TEST(ComposeErrorTest, DirectoryIsNotAConfigFile) {
  const ConfigError error = load_error(fixture("compose"));
  EXPECT_TRUE(Contains(error.message(), "directory"));
}

TEST(ComposeErrorTest, TopLevelMustBeAnObject) {
  const ConfigError error = load_error(fixture("errors/not_object.json"));
  EXPECT_EQ(error.file(), fixture_name("errors/not_object.json"));
  EXPECT_EQ(error.message(), "expected a JSON object at the top level, got array [1,2]");
}

TEST(ComposeErrorTest, IncludeMustBeStringOrArray) {
  const ConfigError error = load_error(fixture("errors/include_number.json"));
  EXPECT_EQ(error.file(), fixture_name("errors/include_number.json"));
  EXPECT_EQ(error.pointer(), "/include");
  EXPECT_EQ(error.message(), "expected string or array of strings, got integer 3");
}

TEST(ComposeErrorTest, IncludeArrayEntriesMustBeStrings) {
  const ConfigError error = load_error(fixture("errors/include_array_number.json"));
  EXPECT_EQ(error.pointer(), "/include/1");
  EXPECT_EQ(error.message(), "expected string, got integer 4");
}

TEST(ComposeErrorTest, MissingIncludedFileNamesTheIncludingFile) {
  const ConfigError error = load_error(fixture("errors/include_missing.json"));
  EXPECT_EQ(error.file(), fixture_name("errors/include_missing.json"));
  EXPECT_EQ(error.pointer(), "/include/1");
  EXPECT_TRUE(Contains(error.message(), "\"does_not_exist.json\" not found"));
  EXPECT_TRUE(Contains(error.message(), fixture_name("errors/does_not_exist.json")));
}

TEST(ComposeErrorTest, EmptyIncludePath) {
  const ConfigError error = load_error(fixture("errors/include_empty_path.json"));
  EXPECT_EQ(error.pointer(), "/include");
  EXPECT_EQ(error.message(), "empty include path");
}

}  // namespace
}  // namespace lmf::config
