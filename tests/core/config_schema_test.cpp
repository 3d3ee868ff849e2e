#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/config/compose.h"
#include "core/config/config_error.h"
#include "core/config/schema.h"

#ifndef LMF_TEST_FIXTURES_DIR
#error "LMF_TEST_FIXTURES_DIR must name the absolute path of tests/fixtures"
#endif

namespace lmf::config {

// Lets gtest print issues in failure messages.
void PrintTo(const ValidationIssue& issue, std::ostream* out) {
  *out << "{" << issue.pointer << ": " << issue.message << "}";
}

namespace {

using nlohmann::json;
using Issues = std::vector<ValidationIssue>;

// Validates a copy of `instance` and returns the issues.
Issues check(const char* schema, const char* instance) {
  json value = json::parse(instance);
  return validate(json::parse(schema), value);
}

// Validates and returns the instance with defaults filled in; fails on any issue.
json filled(const char* schema, const char* instance) {
  json value = json::parse(instance);
  const Issues issues = validate(json::parse(schema), value);
  EXPECT_TRUE(issues.empty()) << ::testing::PrintToString(issues);
  return value;
}

std::vector<std::string> problems(const char* schema) {
  return check_schema(json::parse(schema));
}

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

constexpr const char* kQuantizer = R"({
  "type": "object",
  "properties": {
    "bits": {"type": "integer", "minimum": 2, "maximum": 8},
    "group_size": {"type": "integer"},
    "symmetric": {"type": "boolean"}
  },
  "required": ["bits"],
  "additionalProperties": false
})";

// --- type -----------------------------------------------------------------------------

TEST(SchemaTypeTest, EachTypeAcceptsItsValues) {
  const std::vector<std::pair<const char*, const char*>> accepted = {
      {"object", "{}"},   {"array", "[]"},
      {"string", "\"\""}, {"integer", "3"},
      {"integer", "-3"},  {"number", "3"},
      {"number", "2.5"},  {"boolean", "false"},
      {"null", "null"},   {"integer", "18446744073709551615"}};
  for (const auto& [type, value] : accepted) {
    const std::string schema = std::string(R"({"type": ")") + type + "\"}";
    EXPECT_EQ(check(schema.c_str(), value), Issues{}) << type << " " << value;
  }
}

TEST(SchemaTypeTest, EachTypeRejectsOthers) {
  const std::vector<std::pair<const char*, const char*>> rejected = {
      {"object", "[]"},    {"array", "{}"},  {"string", "1"},   {"integer", "2.5"},
      {"number", "\"1\""}, {"boolean", "0"}, {"null", "false"}, {"object", "null"}};
  for (const auto& [type, value] : rejected) {
    const std::string schema = std::string(R"({"type": ")") + type + "\"}";
    EXPECT_EQ(check(schema.c_str(), value).size(), 1u) << type << " " << value;
  }
}

TEST(SchemaTypeTest, IntegerRejectsAFloatWithNoFraction) {
  EXPECT_EQ(check(R"({"type": "integer"})", "3.0"),
            (Issues{{"", "expected integer, got number 3.0"}}));
}

TEST(SchemaTypeTest, MessageSaysExpectedAndGot) {
  EXPECT_EQ(check(kQuantizer, R"({"bits": "four"})"),
            (Issues{{"/bits", "expected integer, got string \"four\""}}));
}

TEST(SchemaTypeTest, TypeArrayAcceptsAnyListedType) {
  const char* schema = R"({"type": ["integer", "null"]})";
  EXPECT_EQ(check(schema, "null"), Issues{});
  EXPECT_EQ(check(schema, "4"), Issues{});
  EXPECT_EQ(check(schema, "\"4\""), (Issues{{"", "expected integer or null, got string \"4\""}}));
  EXPECT_EQ(check(R"({"type": ["integer", "string", "null"]})", "true"),
            (Issues{{"", "expected integer, string or null, got boolean true"}}));
}

TEST(SchemaTypeTest, LongValuesAreShortenedInMessages) {
  const std::string text(200, 'x');
  json value = text;
  const Issues issues = validate(json::parse(R"({"type": "integer"})"), value);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_LT(issues[0].message.size(), 100u);
  EXPECT_TRUE(Contains(issues[0].message, "..."));
}

// --- objects --------------------------------------------------------------------------

TEST(SchemaObjectTest, ValidObjectHasNoIssues) {
  EXPECT_EQ(check(kQuantizer, R"({"bits": 4, "group_size": 64, "symmetric": true})"), Issues{});
}

TEST(SchemaObjectTest, MissingRequiredField) {
  EXPECT_EQ(check(kQuantizer, R"({"group_size": 64})"),
            (Issues{{"", "missing required field \"bits\""}}));
}

TEST(SchemaObjectTest, UnknownFieldListsKnownFieldsAndSuggests) {
  EXPECT_EQ(check(kQuantizer, R"({"bits": 4, "bitz": 4})"),
            (Issues{{"/bitz",
                     "unknown field \"bitz\" (known: bits, group_size, symmetric); did you "
                     "mean \"bits\"?"}}));
}

TEST(SchemaObjectTest, SuggestionsCoverSwapsAndCaseButNotUnrelatedNames) {
  const Issues swapped = check(kQuantizer, R"({"bits": 4, "gruop_size": 4})");
  ASSERT_EQ(swapped.size(), 1u);
  EXPECT_TRUE(Contains(swapped[0].message, "did you mean \"group_size\"?"));
  const Issues unrelated = check(kQuantizer, R"({"bits": 4, "seed": 4})");
  ASSERT_EQ(unrelated.size(), 1u);
  EXPECT_EQ(unrelated[0].message, "unknown field \"seed\" (known: bits, group_size, symmetric)");
}

TEST(SchemaObjectTest, ObjectWithoutPropertiesTakesNoFields) {
  EXPECT_EQ(check(R"({"type": "object", "additionalProperties": false})", R"({"x": 1})"),
            (Issues{{"/x", "unknown field \"x\" (this object takes no fields)"}}));
}

TEST(SchemaObjectTest, AdditionalPropertiesAllowedByDefault) {
  EXPECT_EQ(check(R"({"properties": {"a": {"type": "integer"}}})", R"({"a": 1, "b": "x"})"),
            Issues{});
  EXPECT_EQ(check(R"({"additionalProperties": true})", R"({"b": "x"})"), Issues{});
}

TEST(SchemaObjectTest, AdditionalPropertiesSchemaChecksEachExtraField) {
  const char* schema = R"({
    "properties": {"name": {"type": "string"}},
    "additionalProperties": {"type": "integer"}
  })";
  EXPECT_EQ(check(schema, R"({"name": "x", "a": 1, "b": 2})"), Issues{});
  EXPECT_EQ(check(schema, R"({"name": "x", "a": 1, "b": "two"})"),
            (Issues{{"/b", "expected integer, got string \"two\""}}));
}

TEST(SchemaObjectTest, PropertiesApplyOnlyToObjects) {
  EXPECT_EQ(check(R"({"properties": {"a": {"type": "integer"}}, "required": ["a"]})", "5"),
            Issues{});
}

TEST(SchemaObjectTest, PointersEscapeKeys) {
  EXPECT_EQ(check(R"({"additionalProperties": {"type": "integer"}})", R"({"a/b~c": "x"})"),
            (Issues{{"/a~1b~0c", "expected integer, got string \"x\""}}));
}

TEST(SchemaObjectTest, FalseSchemaForbidsAField) {
  EXPECT_EQ(check(R"({"properties": {"legacy": false}})", R"({"legacy": 1})"),
            (Issues{{"/legacy", "no value is allowed here, got integer 1"}}));
  EXPECT_EQ(check(R"({"properties": {"legacy": false}})", R"({})"), Issues{});
}

// --- arrays ---------------------------------------------------------------------------

TEST(SchemaArrayTest, ItemsCheckEveryElementWithItsIndex) {
  EXPECT_EQ(check(R"({"items": {"type": "string"}})", R"(["a", 1, "c", false])"),
            (Issues{{"/1", "expected string, got integer 1"},
                    {"/3", "expected string, got boolean false"}}));
}

TEST(SchemaArrayTest, NestedArrayPointers) {
  const char* schema = R"({
    "properties": {
      "matrix": {"items": {"items": {"type": "number", "minimum": 0}}}
    }
  })";
  EXPECT_EQ(check(schema, R"({"matrix": [[1, 2], [3, -4, 5], [], [6, "x"]]})"),
            (Issues{{"/matrix/1/1", "must be >= 0, got -4"},
                    {"/matrix/3/1", "expected number, got string \"x\""}}));
}

TEST(SchemaArrayTest, MinItems) {
  const char* schema = R"({"minItems": 2})";
  EXPECT_EQ(check(schema, "[1, 2]"), Issues{});
  EXPECT_EQ(check(schema, "[1]"), (Issues{{"", "must have at least 2 items, got 1"}}));
}

TEST(SchemaArrayTest, MaxItems) {
  const char* schema = R"({"maxItems": 2})";
  EXPECT_EQ(check(schema, "[1, 2]"), Issues{});
  EXPECT_EQ(check(schema, "[1, 2, 3]"), (Issues{{"", "must have at most 2 items, got 3"}}));
}

// --- enum and const -------------------------------------------------------------------

TEST(SchemaEnumTest, EnumAcceptsListedValues) {
  const char* schema = R"({"enum": ["int8", "int4", 3, null]})";
  EXPECT_EQ(check(schema, "\"int4\""), Issues{});
  EXPECT_EQ(check(schema, "3"), Issues{});
  EXPECT_EQ(check(schema, "3.0"), Issues{});  // the same number
  EXPECT_EQ(check(schema, "null"), Issues{});
}

TEST(SchemaEnumTest, EnumRejectsOthers) {
  EXPECT_EQ(check(R"({"enum": ["int8", "int4"]})", "\"int3\""),
            (Issues{{"", "must be one of [\"int8\",\"int4\"], got \"int3\""}}));
}

TEST(SchemaEnumTest, ConstAcceptsOnlyItsValue) {
  const char* schema = R"({"const": {"a": [1, 2]}})";
  EXPECT_EQ(check(schema, R"({"a": [1, 2]})"), Issues{});
  EXPECT_EQ(check(schema, R"({"a": [2, 1]})"),
            (Issues{{"", "must be {\"a\":[1,2]}, got {\"a\":[2,1]}"}}));
}

// --- numbers --------------------------------------------------------------------------

TEST(SchemaNumberTest, MinimumIsInclusive) {
  EXPECT_EQ(check(R"({"minimum": 1})", "1"), Issues{});
  EXPECT_EQ(check(R"({"minimum": 1})", "0"), (Issues{{"", "must be >= 1, got 0"}}));
  EXPECT_EQ(check(R"({"minimum": 1})", "0.5"), (Issues{{"", "must be >= 1, got 0.5"}}));
}

TEST(SchemaNumberTest, MaximumIsInclusive) {
  EXPECT_EQ(check(R"({"maximum": 8})", "8"), Issues{});
  EXPECT_EQ(check(R"({"maximum": 8})", "9"), (Issues{{"", "must be <= 8, got 9"}}));
  EXPECT_EQ(check(R"({"maximum": 0.5})", "0.75"), (Issues{{"", "must be <= 0.5, got 0.75"}}));
}

TEST(SchemaNumberTest, ExclusiveBounds) {
  EXPECT_EQ(check(R"({"exclusiveMinimum": 0})", "0.001"), Issues{});
  EXPECT_EQ(check(R"({"exclusiveMinimum": 0})", "0"), (Issues{{"", "must be > 0, got 0"}}));
  EXPECT_EQ(check(R"({"exclusiveMaximum": 1})", "0.999"), Issues{});
  EXPECT_EQ(check(R"({"exclusiveMaximum": 1})", "1"), (Issues{{"", "must be < 1, got 1"}}));
}

TEST(SchemaNumberTest, LargeIntegersCompareExactly) {
  // As doubles both would be 2^63 and compare equal.
  EXPECT_EQ(check(R"({"maximum": 9223372036854775807})", "9223372036854775808").size(), 1u);
  EXPECT_EQ(check(R"({"minimum": -1})", "18446744073709551615"), Issues{});
  EXPECT_EQ(check(R"({"maximum": -1})", "18446744073709551615").size(), 1u);
}

TEST(SchemaNumberTest, BoundsApplyOnlyToNumbers) {
  EXPECT_EQ(check(R"({"minimum": 1})", "\"0\""), Issues{});
}

// --- strings --------------------------------------------------------------------------

TEST(SchemaStringTest, MinLength) {
  EXPECT_EQ(check(R"({"minLength": 3})", "\"abc\""), Issues{});
  EXPECT_EQ(check(R"({"minLength": 3})", "\"ab\""),
            (Issues{{"", "must be at least 3 characters long, got string \"ab\" (2)"}}));
}

TEST(SchemaStringTest, MaxLength) {
  EXPECT_EQ(check(R"({"maxLength": 3})", "\"abc\""), Issues{});
  EXPECT_EQ(check(R"({"maxLength": 3})", "\"abcd\""),
            (Issues{{"", "must be at most 3 characters long, got string \"abcd\" (4)"}}));
}

TEST(SchemaStringTest, LengthCountsCharactersNotBytes) {
  // "héllo" is 5 characters in 6 bytes.
  EXPECT_EQ(check(R"({"maxLength": 5})", "\"h\u00e9llo\""), Issues{});
  EXPECT_EQ(check(R"({"minLength": 6})", "\"h\u00e9llo\"").size(), 1u);
}

TEST(SchemaStringTest, PatternSearchesAnywhere) {
  EXPECT_EQ(check(R"({"pattern": "b+"})", "\"abbc\""), Issues{});
  EXPECT_EQ(check(R"({"pattern": "^[a-z0-9_.-]+$"})", "\"gptq\""), Issues{});
  EXPECT_EQ(check(R"({"pattern": "^[a-z0-9_.-]+$"})", "\"GPTQ\""),
            (Issues{{"", "must match the pattern \"^[a-z0-9_.-]+$\", got string \"GPTQ\""}}));
}

// --- default --------------------------------------------------------------------------

TEST(SchemaDefaultTest, AbsentPropertiesAreFilled) {
  const json value = filled(
      R"({"properties": {"bits": {"type": "integer", "default": 4},
                         "name": {"type": "string", "default": "rtn"}}})",
      R"({"bits": 8})");
  EXPECT_EQ(value, json::parse(R"({"bits": 8, "name": "rtn"})"));
}

TEST(SchemaDefaultTest, DefaultsFillIntoObjectsCreatedFromDefaults) {
  const json value = filled(R"({"properties": {
      "optimizer": {"type": "object", "default": {},
                    "properties": {"lr": {"default": 0.001}, "beta": {"default": [0.9, 0.99]}}}
    }})",
                            "{}");
  EXPECT_EQ(value, json::parse(R"({"optimizer": {"lr": 0.001, "beta": [0.9, 0.99]}})"));
}

TEST(SchemaDefaultTest, DefaultsFillIntoExistingNestedObjectsAndArrayItems) {
  const json value = filled(R"({"properties": {
      "stages": {"items": {"properties": {"enabled": {"default": true}}}}
    }})",
                            R"({"stages": [{}, {"enabled": false}]})");
  EXPECT_EQ(value, json::parse(R"({"stages": [{"enabled": true}, {"enabled": false}]})"));
}

TEST(SchemaDefaultTest, NoDefaultMeansNothingIsAdded) {
  EXPECT_EQ(filled(R"({"properties": {"a": {"type": "integer"}}})", "{}"), json::object());
}

TEST(SchemaDefaultTest, DefaultThroughRef) {
  const json value = filled(R"({
      "$defs": {"bits": {"type": "integer", "default": 4}},
      "properties": {"bits": {"$ref": "#/$defs/bits"}}
    })",
                            "{}");
  EXPECT_EQ(value, json::parse(R"({"bits": 4})"));
}

TEST(SchemaDefaultTest, DefaultDoesNotSatisfyRequired) {
  json value = json::object();
  const Issues issues = validate(
      json::parse(R"({"properties": {"name": {"default": "x"}}, "required": ["name"]})"), value);
  EXPECT_EQ(issues, (Issues{{"", "missing required field \"name\""}}));
}

TEST(SchemaDefaultTest, FixtureSchemaFillsEveryDefault) {
  std::ifstream in(std::filesystem::path(LMF_TEST_FIXTURES_DIR) / "config" / "schema" /
                   "quantizer.schema.json");
  const json schema = json::parse(in);
  json config = json::parse(R"({"bits": 3})");
  EXPECT_EQ(validate(schema, config), Issues{});
  EXPECT_EQ(config, json::parse(R"({"bits": 3, "group_size": 128, "symmetric": true})"));
}

// --- oneOf / anyOf --------------------------------------------------------------------

constexpr const char* kOneOf = R"({"oneOf": [
  {"type": "integer", "minimum": 1},
  {"type": "string", "enum": ["auto", "max"]}
]})";

TEST(SchemaAlternativesTest, OneOfAcceptsExactlyOneMatch) {
  EXPECT_EQ(check(kOneOf, "4"), Issues{});
  EXPECT_EQ(check(kOneOf, "\"auto\""), Issues{});
}

TEST(SchemaAlternativesTest, OneOfReportsTheAlternativeOfTheRightType) {
  EXPECT_EQ(check(kOneOf, "0"), (Issues{{"", "must be >= 1, got 0"}}));
  EXPECT_EQ(check(kOneOf, "\"min\""),
            (Issues{{"", "must be one of [\"auto\",\"max\"], got \"min\""}}));
}

TEST(SchemaAlternativesTest, OneOfWithNoAlternativeOfTheRightTypeListsTheTypes) {
  EXPECT_EQ(check(kOneOf, "true"), (Issues{{"", "expected integer or string, got boolean true"}}));
}

TEST(SchemaAlternativesTest, OneOfRejectsSeveralMatches) {
  EXPECT_EQ(check(R"({"oneOf": [{"type": "integer"}, {"minimum": 0}, {"type": "string"}]})", "3"),
            (Issues{{"",
                     "matches more than one alternative of oneOf (0, 1); it must match "
                     "exactly one"}}));
}

TEST(SchemaAlternativesTest, BestAlternativeHasFewestIssues) {
  const char* schema = R"({"anyOf": [
    {"type": "object", "required": ["a", "b", "c"]},
    {"type": "object", "properties": {"kind": {"const": "x"}}, "required": ["kind"]}
  ]})";
  EXPECT_EQ(check(schema, R"({"kind": "y"})"), (Issues{{"/kind", "must be \"x\", got \"y\""}}));
}

TEST(SchemaAlternativesTest, AnyOfAcceptsAnyMatch) {
  const char* schema = R"({"anyOf": [{"type": "integer"}, {"minimum": 0}]})";
  EXPECT_EQ(check(schema, "3"), Issues{});
  EXPECT_EQ(check(schema, "2.5"), Issues{});
  // Only the second alternative admits a non-integer, so its complaint is the one shown.
  EXPECT_EQ(check(schema, "-2.5"), (Issues{{"", "must be >= 0, got -2.5"}}));
}

TEST(SchemaAlternativesTest, DefaultsComeFromTheMatchingAlternative) {
  const json value = filled(R"({"oneOf": [
    {"type": "object", "properties": {"kind": {"const": "a"}, "x": {"default": 1}},
     "required": ["kind"]},
    {"type": "object", "properties": {"kind": {"const": "b"}, "y": {"default": 2}},
     "required": ["kind"]}
  ]})",
                            R"({"kind": "b"})");
  EXPECT_EQ(value, json::parse(R"({"kind": "b", "y": 2})"));
}

// --- $defs / $ref ---------------------------------------------------------------------

TEST(SchemaRefTest, RefValidatesAgainstTheDefinition) {
  const char* schema = R"({
    "$defs": {"positive": {"type": "integer", "minimum": 1}},
    "properties": {"layers": {"$ref": "#/$defs/positive"}, "heads": {"$ref": "#/$defs/positive"}}
  })";
  EXPECT_EQ(check(schema, R"({"layers": 2, "heads": 4})"), Issues{});
  EXPECT_EQ(check(schema, R"({"layers": 0, "heads": "4"})"),
            (Issues{{"/heads", "expected integer, got string \"4\""},
                    {"/layers", "must be >= 1, got 0"}}));
}

TEST(SchemaRefTest, RecursiveSchemaFollowsTheData) {
  const char* schema = R"({
    "$defs": {"node": {"type": "object", "properties": {
      "value": {"type": "integer"},
      "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}
    }, "additionalProperties": false}},
    "$ref": "#/$defs/node"
  })";
  EXPECT_EQ(check(schema, R"({"value": 1, "children": [{"value": 2}, {"children": [{}]}]})"),
            Issues{});
  EXPECT_EQ(
      check(schema, R"({"children": [{"value": 2}, {"children": [{"valeu": 3}]}]})"),
      (Issues{{"/children/1/children/0/valeu",
               "unknown field \"valeu\" (known: children, value); did you mean \"value\"?"}}));
}

// --- annotations, all issues, base pointer --------------------------------------------

TEST(SchemaValidateTest, AnnotationsAreIgnored) {
  EXPECT_EQ(check(R"({"title": "t", "description": "d", "$comment": "c", "examples": [1],
                      "type": "integer"})",
                  "1"),
            Issues{});
}

TEST(SchemaValidateTest, ReportsEveryIssueNotOnlyTheFirst) {
  const Issues issues = check(kQuantizer, R"({"bits": 9, "group_size": "x", "symetric": true})");
  EXPECT_EQ(issues, (Issues{{"/bits", "must be <= 8, got 9"},
                            {"/group_size", "expected integer, got string \"x\""},
                            {"/symetric",
                             "unknown field \"symetric\" (known: bits, group_size, "
                             "symmetric); did you mean \"symmetric\"?"}}));
}

TEST(SchemaValidateTest, BasePointerPrefixesEveryIssue) {
  json config = json::parse(R"({"bits": "four", "extra": 1})");
  EXPECT_EQ(validate(json::parse(kQuantizer), config, "/stages/1/config"),
            (Issues{{"/stages/1/config/bits", "expected integer, got string \"four\""},
                    {"/stages/1/config/extra",
                     "unknown field \"extra\" (known: bits, group_size, symmetric)"}}));
  json missing = json::object();
  EXPECT_EQ(validate(json::parse(kQuantizer), missing, "/stages/1/config"),
            (Issues{{"/stages/1/config", "missing required field \"bits\""}}));
}

TEST(SchemaValidateTest, BooleanSchemas) {
  EXPECT_EQ(check("true", R"({"anything": [1]})"), Issues{});
  EXPECT_EQ(check("false", "1"), (Issues{{"", "no value is allowed here, got integer 1"}}));
}

TEST(SchemaValidateTest, AbsurdNestingIsReportedNotOverflowed) {
  json value = json::array();
  for (int i = 0; i < 300; ++i) value = json::array({value});
  const Issues issues = validate(json::parse(R"({"items": {"$ref": "#"}})"), value);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_TRUE(Contains(issues[0].message, "nested more than 128 levels deep"));
  EXPECT_EQ(std::count(issues[0].pointer.begin(), issues[0].pointer.end(), '/'), 129);
}

TEST(SchemaValidateTest, InvalidSchemaIsReportedNotThrown) {
  json value = 1;
  const Issues issues = validate(json::parse(R"({"type": "int"})"), value, "/stages/0/config");
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].pointer, "/stages/0/config");
  EXPECT_TRUE(Contains(issues[0].message, "invalid schema"));
  EXPECT_TRUE(Contains(issues[0].message, "#/type"));
}

TEST(SchemaValidateTest, IssuesBecomeConfigErrorsNamingTheFile) {
  const auto dir = std::filesystem::path(LMF_TEST_FIXTURES_DIR) / "config";
  const ComposedConfig config = load_config(dir / "compose" / "quantize.json");
  std::ifstream in(dir / "schema" / "quantizer.schema.json");
  const json schema = json::parse(in);
  json stage = config.document["stages"][1]["config"];
  const Issues issues = validate(schema, stage, "/stages/1/config");
  ASSERT_EQ(issues.size(), 1u);
  const ConfigError error(config.file_of(issues[0].pointer), issues[0].pointer, issues[0].message);
  EXPECT_EQ(std::string(error.what()), (dir / "compose" / "quantize.json").string() +
                                           ": /stages/1/config/bits: expected integer, got "
                                           "string \"four\"");
}

// --- check_schema ---------------------------------------------------------------------

TEST(CheckSchemaTest, WellFormedSchemaHasNoProblems) {
  EXPECT_EQ(problems(kQuantizer), std::vector<std::string>{});
  EXPECT_EQ(problems(kOneOf), std::vector<std::string>{});
  EXPECT_EQ(problems("true"), std::vector<std::string>{});
  EXPECT_EQ(problems(R"({"$schema": "https://json-schema.org/draft/2020-12/schema",
                         "$defs": {"a": {"type": "string"}}, "$ref": "#/$defs/a"})"),
            std::vector<std::string>{});
}

TEST(CheckSchemaTest, UnknownKeywordWithSuggestion) {
  EXPECT_EQ(problems(R"({"properties": {"bits": {"minimun": 1}}})"),
            std::vector<std::string>{"#/properties/bits/minimun: unknown keyword \"minimun\"; did "
                                     "you mean \"minimum\"? (supported: the subset in Note "
                                     "[Schema subset])"});
}

TEST(CheckSchemaTest, UnsupportedKeywordIsAProblem) {
  EXPECT_EQ(problems(R"({"multipleOf": 2})"),
            std::vector<std::string>{"#/multipleOf: unknown keyword \"multipleOf\" (supported: the "
                                     "subset in Note [Schema subset])"});
}

TEST(CheckSchemaTest, MalformedKeywordValues) {
  const auto found = problems(R"({
    "type": ["integer", "float"],
    "required": "name",
    "minItems": -1,
    "maxLength": 2.5,
    "minimum": "0",
    "enum": [],
    "oneOf": [],
    "items": [{"type": "integer"}],
    "properties": {"a": 3},
    "title": 1
  })");
  const std::vector<std::string> expected = {
      "#/enum: expected a non-empty array, got array []",
      "#/items: must be one schema; the array (tuple) form is not supported",
      "#/maxLength: expected a non-negative integer, got number 2.5",
      "#/minItems: expected a non-negative integer, got integer -1",
      "#/minimum: expected a number, got string \"0\"",
      "#/oneOf: expected a non-empty array of schemas, got array []",
      "#/properties/a: a schema must be an object or a boolean, got integer 3",
      "#/required: expected an array of strings, got string \"name\"",
      "#/title: expected a string, got integer 1",
      "#/type/1: expected one of object, array, string, integer, number, boolean, null, got "
      "string \"float\"",
  };
  EXPECT_EQ(found, expected);
}

TEST(CheckSchemaTest, InvalidPattern) {
  const auto found = problems(R"({"properties": {"name": {"pattern": "[a-z"}}})");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(Contains(found[0], "#/properties/name/pattern: is not a valid ECMAScript"));
}

TEST(CheckSchemaTest, UnresolvedAndNonLocalRefs) {
  EXPECT_EQ(problems(R"({"$ref": "#/$defs/missing"})"),
            std::vector<std::string>{
                "#/$ref: \"#/$defs/missing\" does not name a schema in this document"});
  EXPECT_EQ(problems(R"({"$ref": "other.json#/a"})"),
            std::vector<std::string>{"#/$ref: only local references such as \"#/$defs/name\" "
                                     "are supported, got \"other.json#/a\""});
  // A pointer to something that is not a schema.
  EXPECT_EQ(problems(R"({"$defs": {"a": {"enum": [1]}}, "$ref": "#/$defs/a/enum"})").size(), 1u);
}

TEST(CheckSchemaTest, RefCycleWithoutProgressIsAProblem) {
  const auto found = problems(R"({"$defs": {
      "a": {"$ref": "#/$defs/b"},
      "b": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/a"}]}
    }})");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(Contains(found[0], "refers back to itself"));
  EXPECT_TRUE(Contains(found[0], "#/$defs/a -> #/$defs/b -> #/$defs/b/anyOf/1 -> #/$defs/a"));
}

TEST(CheckSchemaTest, RecursionThroughPropertiesIsFine) {
  EXPECT_EQ(problems(R"({"properties": {"child": {"$ref": "#"}}})"), std::vector<std::string>{});
}

TEST(CheckSchemaTest, DefaultMustMatchItsSchema) {
  EXPECT_EQ(
      problems(R"({"properties": {"bits": {"type": "integer", "minimum": 1, "default": 0}}})"),
      std::vector<std::string>{"#/properties/bits/default: the default does not match its "
                               "own schema: must be >= 1, got 0"});
  EXPECT_EQ(problems(R"({"default": {"a": "x"}, "properties": {"a": {"type": "integer"}}})"),
            std::vector<std::string>{
                "#/default: the default does not match its own schema: /a: expected integer, got "
                "string \"x\""});
}

TEST(CheckSchemaTest, DefaultThatGrowsForeverIsAProblem) {
  const auto found = problems(R"({"$defs": {"node": {
      "type": "object", "properties": {"child": {"$ref": "#/$defs/node", "default": {}}}}},
      "$ref": "#/$defs/node"})");
  EXPECT_EQ(found, std::vector<std::string>{
                       "#/$defs/node/properties/child/default: the default does not match its "
                       "own schema: /child/child: the default would contain itself without end"});
}

TEST(CheckSchemaTest, ContradictoryBoundsAndImpossibleRequired) {
  EXPECT_EQ(problems(R"({"minimum": 5, "maximum": 3})"),
            std::vector<std::string>{"#/minimum: minimum 5 is greater than maximum 3"});
  EXPECT_EQ(problems(R"({"properties": {"a": {}}, "required": ["a", "b"],
                         "additionalProperties": false})"),
            std::vector<std::string>{"#/required/1: required field \"b\" is not in properties and "
                                     "additionalProperties is false, so no value can be valid"});
}

}  // namespace
}  // namespace lmf::config
