// `lmforge plan` as a user runs it: the report, --json, --explain, and how it answers wrong
// input (exit 2 for the command line, 3 for a file).
#include "tests/hosts/cli_support.h"

#include <nlohmann/json.hpp>

#include <sstream>
#include <string>
#include <vector>

#ifndef LMF_PLANNER_FIXTURES_DIR
#error "LMF_PLANNER_FIXTURES_DIR must name tests/planner/fixtures"
#endif

namespace lmf::cli_test {
namespace {

using nlohmann::json;

std::string planner_fixture(const std::string& name) {
  return (fs::path(LMF_PLANNER_FIXTURES_DIR) / name).string();
}

TEST(CliPlan, HelpAndOverview) {
  const CliResult help = run_lmforge({"plan", "--help"});
  EXPECT_EQ(help.exit_code, 0) << describe(help);
  EXPECT_TRUE(Contains(help.out, "Usage: lmforge plan MODEL"));
  EXPECT_TRUE(Contains(help.out, "--gpu-catalog"));
  EXPECT_TRUE(Contains(help.out, "--explain"));
  EXPECT_TRUE(Contains(run_lmforge({"--help"}).out, "plan MODEL"));
}

TEST(CliPlan, ReportForAPreset) {
  const CliResult result = run_lmforge({"plan", "deepseek-r1-distill-llama-70b", "--dtype", "int4",
                                        "--concurrency", "8", "--gpu", "a100"});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_TRUE(Contains(result.out, "70.55 B parameters"));
  EXPECT_TRUE(Contains(result.out, "Memory per GPU"));
  EXPECT_TRUE(Contains(result.out, "KV cache"));
  EXPECT_TRUE(Contains(result.out, "On 1 x NVIDIA A100 80GB SXM"));
  EXPECT_TRUE(Contains(result.out, "fits"));
  EXPECT_TRUE(Contains(result.out, "Fewest GPUs of each type"));
  EXPECT_TRUE(result.err.empty()) << result.err;
}

TEST(CliPlan, JsonForTools) {
  const CliResult result = run_lmforge({"plan", "--params", "70B", "--dtype", "fp16", "--json"});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  const json plan = json::parse(result.out);
  EXPECT_DOUBLE_EQ(plan["memory_per_gpu"]["weights"].get<double>(), 140e9);
  EXPECT_EQ(plan["search"].size(), 10u);  // every GPU of the built-in catalog
  EXPECT_EQ(plan["settings"]["method"], "inference");
  EXPECT_FALSE(plan["warnings"].empty());  // no architecture: no KV cache estimate
}

TEST(CliPlan, ExplainPrintsFormulasWithNumbers) {
  const CliResult result = run_lmforge({"plan", "deepseek-r1-distill-qwen-7b", "--method", "qlora",
                                        "--gpu", "rtx-4090", "--tokens", "100M", "--explain"});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_TRUE(Contains(result.out, "How each number was computed"));
  EXPECT_TRUE(Contains(result.out, "input embedding = V*h"));
  EXPECT_TRUE(Contains(result.out, "= 152064*3584"));
  EXPECT_TRUE(Contains(result.out, "NF4 with double quantization"));
  EXPECT_TRUE(Contains(result.out, "total time = token budget / tokens per step * step time"));
  EXPECT_TRUE(Contains(result.out, "purchase (GPUs only, CNY) = GPUs * price"));
}

TEST(CliPlan, HuggingFaceConfigAndRawNumbers) {
  const CliResult file = run_lmforge({"plan", planner_fixture("mixtral-8x7b.json"), "--json"});
  ASSERT_EQ(file.exit_code, 0) << describe(file);
  EXPECT_NEAR(json::parse(file.out)["model"]["parameters"]["active"].get<double>() / 1e9, 12.9,
              0.05);
  const CliResult raw =
      run_lmforge({"plan", "--layers", "32", "--hidden", "4096", "--heads", "32", "--intermediate",
                   "11008", "--vocab", "32000", "--method", "full", "--gpu", "h100", "--json"});
  ASSERT_EQ(raw.exit_code, 0) << describe(raw);
  // LLaMA-7B: 6.74B parameters.
  EXPECT_NEAR(json::parse(raw.out)["model"]["parameters"]["total"].get<double>() / 1e9, 6.74, 0.01);
}

TEST(CliPlan, ListsPresetsAndGpus) {
  const CliResult models = run_lmforge({"plan", "--list-models"});
  EXPECT_EQ(models.exit_code, 0);
  EXPECT_TRUE(Contains(models.out, "deepseek-r1-distill-qwen-32b"));
  EXPECT_TRUE(Contains(models.out, "deepseek-llm-67b-base"));
  const CliResult gpus =
      run_lmforge({"plan", "--list-gpus", "--gpu-catalog", planner_fixture("catalog-extra.json")});
  EXPECT_EQ(gpus.exit_code, 0) << describe(gpus);
  EXPECT_TRUE(Contains(gpus.out, "a800-80gb"));
  EXPECT_TRUE(Contains(gpus.out, "\u00a580,000"));  // the override of the A100's price
}

TEST(CliPlan, UnknownPresetSuggestsTheClosest) {
  const CliResult result = run_lmforge({"plan", "deepseek-r1-distill-qwen-8b"});
  EXPECT_EQ(result.exit_code, 2) << describe(result);
  EXPECT_TRUE(Contains(result.err, "no such preset"));
  EXPECT_TRUE(Contains(result.err, "did you mean \"deepseek-r1-distill-qwen-7b\"?"));
  EXPECT_TRUE(Contains(result.err, "deepseek-moe-16b-base"));  // the list of presets
}

TEST(CliPlan, MalformedConfigNamesFileAndField) {
  const CliResult syntax = run_lmforge({"plan", planner_fixture("syntax-error.json")});
  EXPECT_EQ(syntax.exit_code, 3) << describe(syntax);
  EXPECT_TRUE(Contains(syntax.err, "syntax-error.json:5:"));
  const CliResult field = run_lmforge({"plan", planner_fixture("string-heads.json")});
  EXPECT_EQ(field.exit_code, 3) << describe(field);
  EXPECT_TRUE(
      Contains(field.err, "string-heads.json: /num_attention_heads: expected a positive integer"));
  const CliResult missing = run_lmforge({"plan", "./no/such/config.json"});
  EXPECT_EQ(missing.exit_code, 3) << describe(missing);
  EXPECT_TRUE(Contains(missing.err, "no such file"));
}

TEST(CliPlan, ImpossibleParallelDegrees) {
  const CliResult heads = run_lmforge({"plan", "deepseek-r1-distill-qwen-7b", "--tp", "8"});
  EXPECT_EQ(heads.exit_code, 2) << describe(heads);
  EXPECT_TRUE(Contains(heads.err, "--tp 8 does not divide num_attention_heads (28)"));
  const CliResult layers = run_lmforge({"plan", "deepseek-r1-distill-llama-8b", "--pp", "64"});
  EXPECT_EQ(layers.exit_code, 2) << describe(layers);
  EXPECT_TRUE(Contains(layers.err, "--pp 64 is more than the model's 32 layers"));
  const CliResult product =
      run_lmforge({"plan", "deepseek-r1-distill-llama-70b", "--method", "full", "--tp", "2", "--pp",
                   "2", "--dp", "4", "--gpus", "8"});
  EXPECT_EQ(product.exit_code, 2) << describe(product);
  EXPECT_TRUE(Contains(product.err, "= 16 GPUs, but --gpus is 8"));
}

TEST(CliPlan, MissingGpuAndCatalogProblems) {
  const CliResult gpu = run_lmforge({"plan", "deepseek-r1-distill-qwen-7b", "--gpu", "a800"});
  EXPECT_EQ(gpu.exit_code, 2) << describe(gpu);
  EXPECT_TRUE(Contains(gpu.err, "--gpu \"a800\": not in the GPU catalog"));
  const CliResult typo = run_lmforge({"plan", "deepseek-r1-distill-qwen-7b", "--gpu-catalog",
                                      planner_fixture("catalog-typo.json")});
  EXPECT_EQ(typo.exit_code, 3) << describe(typo);
  EXPECT_TRUE(Contains(typo.err, "/gpus/0/memroy_gb: unknown field"));
}

TEST(CliPlan, OptionsOfAnotherMethod) {
  const CliResult result = run_lmforge({"plan", "deepseek-r1-distill-qwen-7b", "--zero", "3"});
  EXPECT_EQ(result.exit_code, 2) << describe(result);
  EXPECT_TRUE(Contains(result.err, "--zero applies to training methods, not --method inference"));
  const CliResult no_model = run_lmforge({"plan", "--method", "lora"});
  EXPECT_EQ(no_model.exit_code, 2) << describe(no_model);
  EXPECT_TRUE(Contains(no_model.err, "name a model"));
}

// The line of the memory breakdown that starts with `label`.
std::string line_of(const std::string& text, const std::string& label) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind("  " + label, 0) == 0) return line;
  return "";
}

TEST(CliPlan, TrainerAndAdapterDtype) {
  const std::vector<std::string> lora{"plan",
                                      "deepseek-r1-distill-llama-8b",
                                      "--method",
                                      "lora",
                                      "--gpu",
                                      "h100",
                                      "--checkpointing",
                                      "none"};
  const CliResult lmforge = run_lmforge(lora);
  std::vector<std::string> hf_args = lora;
  hf_args.insert(hf_args.end(), {"--trainer", "hf"});
  const CliResult hf = run_lmforge(hf_args);
  ASSERT_EQ(lmforge.exit_code, 0) << describe(lmforge);
  ASSERT_EQ(hf.exit_code, 0) << describe(hf);
  const std::string ours = line_of(lmforge.out, "activations");
  ASSERT_FALSE(ours.empty()) << lmforge.out;
  // transformers' RMSNorm keeps fp32 inputs and PEFT casts each module's input: more.
  EXPECT_NE(ours, line_of(hf.out, "activations"));

  std::vector<std::string> full_args{
      "plan", "deepseek-r1-distill-llama-8b", "--method", "full", "--adapter-dtype", "bf16"};
  const CliResult full = run_lmforge(full_args);
  EXPECT_EQ(full.exit_code, 2) << describe(full);
  EXPECT_TRUE(Contains(full.err, "--adapter-dtype applies to lora and qlora, not --method full"));

  const CliResult trainer =
      run_lmforge({"plan", "deepseek-r1-distill-llama-8b", "--method", "lora", "--trainer", "foo"});
  EXPECT_EQ(trainer.exit_code, 2) << describe(trainer);
  EXPECT_TRUE(Contains(trainer.err, "--trainer \"foo\": expected one of lmforge hf"));

  const CliResult dtype = run_lmforge(
      {"plan", "deepseek-r1-distill-llama-8b", "--method", "lora", "--adapter-dtype", "int8"});
  EXPECT_EQ(dtype.exit_code, 2) << describe(dtype);
  EXPECT_TRUE(Contains(dtype.err, "--adapter-dtype \"int8\": expected one of fp32 bf16 fp16"));
}

}  // namespace
}  // namespace lmf::cli_test
