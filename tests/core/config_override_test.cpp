#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/config/compose.h"
#include "core/config/config_error.h"

#ifndef LMF_TEST_FIXTURES_DIR
#error "LMF_TEST_FIXTURES_DIR must name the absolute path of tests/fixtures"
#endif

namespace lmf::config {
namespace {

using nlohmann::json;

ComposedConfig sample() {
  ComposedConfig config;
  config.document = json::parse(R"({
    "seed": 1,
    "model": {"name": "m", "rope": null},
    "stages": [
      {"kind": "tokenizer"},
      {"kind": "quantizer", "config": {"bits": 8, "group_size": 128}}
    ],
    "tags": ["a", "b"],
    "by_id": {"0": "zero"}
  })");
  config.origins[""] = "pipeline.json";
  return config;
}

json set(std::string_view assignment) {
  ComposedConfig config = sample();
  apply_override(config, assignment);
  return config.document;
}

ConfigError override_error(std::string_view assignment) {
  ComposedConfig config = sample();
  try {
    apply_override(config, assignment);
  } catch (const ConfigError& error) {
    // Nothing is changed by an override that fails.
    EXPECT_EQ(config.document, sample().document) << assignment;
    return error;
  }
  ADD_FAILURE() << "expected ConfigError for --set " << assignment;
  return ConfigError("", "", "");
}

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

TEST(OverrideTest, IntegerReplacesValue) {
  const json doc = set("seed=42");
  EXPECT_EQ(doc["seed"], 42);
  EXPECT_TRUE(doc["seed"].is_number_integer());
}

TEST(OverrideTest, NumbersKeepTheirKind) {
  EXPECT_TRUE(set("seed=-3")["seed"] == -3);
  const json doc = set("model.lr=2.5e-4");
  EXPECT_TRUE(doc["model"]["lr"].is_number_float());
  EXPECT_DOUBLE_EQ(doc["model"]["lr"].get<double>(), 2.5e-4);
}

TEST(OverrideTest, BooleansAndNull) {
  EXPECT_EQ(set("model.flag=true")["model"]["flag"], true);
  EXPECT_EQ(set("model.flag=false")["model"]["flag"], false);
  EXPECT_TRUE(set("model.name=null")["model"]["name"].is_null());
}

TEST(OverrideTest, QuotedValueIsAString) {
  const json doc = set(R"(model.name="4")");
  EXPECT_TRUE(doc["model"]["name"].is_string());
  EXPECT_EQ(doc["model"]["name"], "4");
}

TEST(OverrideTest, ValueThatIsNotJsonIsAPlainString) {
  EXPECT_EQ(set("model.name=llama-3")["model"]["name"], "llama-3");
  EXPECT_EQ(set("model.name=True")["model"]["name"], "True");  // JSON is case-sensitive
  EXPECT_EQ(set("model.name=[1,")["model"]["name"], "[1,");
}

TEST(OverrideTest, EmptyValueIsAnEmptyString) {
  EXPECT_EQ(set("model.name=")["model"]["name"], "");
}

TEST(OverrideTest, OnlyTheFirstEqualsSplits) {
  EXPECT_EQ(set("model.name=a=b")["model"]["name"], "a=b");
}

TEST(OverrideTest, ArrayAndObjectValuesReplaceWhole) {
  EXPECT_EQ(set("tags=[\"x\"]")["tags"], json::parse(R"(["x"])"));
  // An object value replaces, it does not merge: "name" is gone.
  EXPECT_EQ(set(R"(model={"layers": 2})")["model"], json::parse(R"({"layers": 2})"));
}

TEST(OverrideTest, MissingObjectsAreCreated) {
  const json doc = set("train.optimizer.lr=0.1");
  EXPECT_EQ(doc["train"], json::parse(R"({"optimizer": {"lr": 0.1}})"));
}

TEST(OverrideTest, NullOnTheWayIsReplacedByAnObject) {
  EXPECT_EQ(set("model.rope.theta=10")["model"]["rope"], json::parse(R"({"theta": 10})"));
}

TEST(OverrideTest, DigitSegmentIndexesAnArray) {
  const json doc = set("stages.1.config.bits=4");
  EXPECT_EQ(doc["stages"][1]["config"]["bits"], 4);
  EXPECT_EQ(doc["stages"][1]["config"]["group_size"], 128);  // siblings untouched
  EXPECT_EQ(doc["stages"][0], json::parse(R"({"kind": "tokenizer"})"));
  EXPECT_EQ(doc["stages"].size(), 2u);
}

TEST(OverrideTest, ArrayElementItselfCanBeReplaced) {
  EXPECT_EQ(set("tags.1=c")["tags"], json::parse(R"(["a", "c"])"));
}

TEST(OverrideTest, DigitSegmentOnAnObjectIsAKey) {
  const json doc = set("by_id.0=nil");
  EXPECT_EQ(doc["by_id"], json::parse(R"({"0": "nil"})"));
  EXPECT_EQ(set("model.7=x")["model"]["7"], "x");
}

TEST(OverrideTest, RecordsTheAssignmentAsOrigin) {
  ComposedConfig config = sample();
  apply_override(config, "stages.1.config.bits=4");
  EXPECT_EQ(config.file_of("/stages/1/config/bits"), "--set stages.1.config.bits=4");
  EXPECT_EQ(config.file_of("/stages/1/config/group_size"), "pipeline.json");
  EXPECT_EQ(config.file_of("/seed"), "pipeline.json");
}

TEST(OverrideTest, CreatedObjectsAreAttributedToTheAssignment) {
  ComposedConfig config = sample();
  apply_override(config, "train.optimizer.lr=0.1");
  EXPECT_EQ(config.file_of("/train"), "--set train.optimizer.lr=0.1");
  EXPECT_EQ(config.file_of("/train/optimizer/momentum"), "--set train.optimizer.lr=0.1");
}

TEST(OverrideTest, OverridingAnIncludedValueMovesItsOrigin) {
  const auto file =
      std::filesystem::path(LMF_TEST_FIXTURES_DIR) / "config" / "compose" / "pipeline.json";
  ComposedConfig config = load_config(file);
  const std::string base = (file.parent_path() / "base.json").string();
  ASSERT_EQ(config.file_of("/model/name"), base);
  apply_override(config, "model.name=other");
  EXPECT_EQ(config.document["model"]["name"], "other");
  EXPECT_EQ(config.file_of("/model/name"), "--set model.name=other");
  EXPECT_EQ(config.file_of("/model/layers"), file.string());
  // A later override of a parent replaces it and everything recorded beneath it.
  apply_override(config, "model={}");
  EXPECT_EQ(config.file_of("/model/name"), "--set model={}");
}

TEST(OverrideTest, KeyCharactersAreEscapedInThePointer) {
  ComposedConfig config = sample();
  apply_override(config, "paths.a/b~c=1");
  EXPECT_EQ(config.document["paths"]["a/b~c"], 1);
  EXPECT_EQ(config.file_of("/paths/a~1b~0c"), "--set paths.a/b~c=1");
}

TEST(OverrideErrorTest, NoEqualsSign) {
  const ConfigError error = override_error("seed");
  EXPECT_EQ(error.file(), "--set seed");
  EXPECT_TRUE(Contains(error.what(), "--set seed: "));
  EXPECT_TRUE(Contains(error.message(), "'='"));
}

TEST(OverrideErrorTest, EmptyKey) {
  const ConfigError error = override_error("=4");
  EXPECT_EQ(error.file(), "--set =4");
  EXPECT_TRUE(Contains(error.message(), "empty key"));
}

TEST(OverrideErrorTest, EmptySegment) {
  for (const char* assignment : {"model..name=x", ".seed=1", "seed.=1"}) {
    const ConfigError error = override_error(assignment);
    EXPECT_EQ(error.file(), std::string("--set ") + assignment);
    EXPECT_TRUE(Contains(error.message(), "empty segment")) << assignment;
  }
}

TEST(OverrideErrorTest, IndexOutOfRange) {
  const ConfigError error = override_error("stages.2.config.bits=4");
  EXPECT_EQ(error.pointer(), "/stages");
  EXPECT_EQ(error.message(), "index 2 is out of range; the array has 2 elements");
  EXPECT_STREQ(error.what(),
               "--set stages.2.config.bits=4: /stages: index 2 is out of range; the array has 2 "
               "elements");
}

TEST(OverrideErrorTest, HugeIndexIsOutOfRange) {
  const ConfigError error = override_error("tags.99999999999999999999999=1");
  EXPECT_TRUE(Contains(error.message(), "out of range"));
}

TEST(OverrideErrorTest, NameOnAnArray) {
  const ConfigError error = override_error("stages.first.kind=x");
  EXPECT_EQ(error.pointer(), "/stages");
  EXPECT_TRUE(Contains(error.message(), "\"first\" is not an array index"));
}

TEST(OverrideErrorTest, DescendingIntoAScalar) {
  const ConfigError error = override_error("seed.value=1");
  EXPECT_EQ(error.pointer(), "/seed");
  EXPECT_TRUE(Contains(error.message(), "integer 1"));
  EXPECT_TRUE(Contains(error.message(), "\"value\""));
}

TEST(OverrideErrorTest, IndexingAScalar) {
  const ConfigError error = override_error("model.name.0=x");
  EXPECT_EQ(error.pointer(), "/model/name");
  EXPECT_TRUE(Contains(error.message(), "string \"m\""));
}

TEST(OverrideErrorTest, DescendingIntoAScalarInsideAnArray) {
  const ConfigError error = override_error("tags.0.x=1");
  EXPECT_EQ(error.pointer(), "/tags/0");
}

}  // namespace
}  // namespace lmf::config
