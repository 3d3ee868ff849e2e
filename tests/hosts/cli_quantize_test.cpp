// `lmforge quantize` end to end: the torch backend drives a quantizer plugin (the SDK's
// int8_rtn example, which needs no calibration) over a fixture model, writes a folder in
// which every projection is packed, and loads that folder again through the plugin's
// import_layer: its perplexity stays within int8's error of transformers' figure. The
// gptq plugin calibrates on token shards the same way and writes the GPTQ layout.
#include "tests/hosts/cli_support.h"
#include "tests/hosts/random_shards.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>

namespace lmf::cli_test {
namespace {

using nlohmann::json;

const std::string kModel = std::string(LMF_BACKEND_FIXTURES_DIR) + "/qwen2_tiny";

// The header of a .safetensors file: tensor name -> {dtype, shape, data_offsets}.
json safetensors_header(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  uint64_t size = 0;
  in.read(reinterpret_cast<char*>(&size), sizeof size);  // little-endian, as x86 is
  std::string text(size, '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  return json::parse(text);
}

class CliQuantize : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef LMF_HAVE_TORCH_BACKEND
    GTEST_SKIP() << "the torch backend plugin is not built (no libtorch)";
#endif
    config_ = dir_.path() / "quantize.json";
    std::ofstream(config_) << json{{"model", kModel},
                                   {"load", {{"device", "cpu"}, {"fused_attention", false}}},
                                   {"quantizer", {{"component", "int8_rtn"}}},
                                   {"output", output().string()}}.dump();
  }
  fs::path output() const { return dir_.path() / "int8"; }
  CliResult quantize(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"quantize", config_.string(), "--plugin-path", kPluginDir};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_lmforge(args);
  }
  TempDir dir_;
  fs::path config_;
};

TEST_F(CliQuantize, EveryProjectionIsPackedAndTheFolderLoadsAgain) {
  CliResult result = quantize();
  ASSERT_EQ(result.exit_code, 0) << describe(result);

  std::ifstream config_file(output() / "config.json");
  const json config = json::parse(config_file);
  const json& quantization = config.at("quantization_config");
  EXPECT_EQ(quantization["quant_method"], "int8_rtn");
  EXPECT_EQ(quantization["lmforge"]["quantizer"], "int8_rtn");
  const int64_t layers = config["num_hidden_layers"].get<int64_t>();
  EXPECT_EQ(static_cast<int64_t>(quantization["lmforge"]["layers"].size()), 7 * layers);

  const json tensors = safetensors_header(output() / "model.safetensors");
  for (const std::string module : {"self_attn.q_proj", "self_attn.v_proj", "mlp.down_proj"}) {
    const std::string prefix = "model.layers.0." + module + ".";
    EXPECT_FALSE(tensors.contains(prefix + "weight")) << prefix;
    ASSERT_TRUE(tensors.contains(prefix + "qweight")) << prefix;
    EXPECT_EQ(tensors[prefix + "qweight"]["dtype"], "I8");
    EXPECT_TRUE(tensors.contains(prefix + "scales")) << prefix;
  }
  EXPECT_TRUE(tensors.contains("model.embed_tokens.weight")) << "what is not quantized stays";
  EXPECT_TRUE(tensors.contains("model.layers.0.self_attn.q_proj.bias")) << "Qwen2's biases stay";

  // The quantized folder loads (through int8_rtn's import_layer) and computes nearly what
  // the original does: transformers' perplexity of the fixture's ids, within int8's error.
  std::ifstream expected_file(kModel + "/expected/expected.json");
  const json want = json::parse(expected_file)["perplexity"];
  const fs::path pipeline = dir_.path() / "eval.json";
  std::ofstream(pipeline) << json{
      {"run", {{"name", "t"}, {"output_dir", (dir_.path() / "run").string()}}},
      {"stages",
       {{{"name", "ppl"}, {"builtin", "model.evaluate"},
         {"params", {{"model", output().string()}, {"load", {{"device", "cpu"}, {"fused_attention", false}}},
                     {"tokenizer", {{"component", "byte_tokenizer"}}},
                     {"request", {{"task", "perplexity"}, {"ids", want["ids"]}, {"max_length", want["max_length"]},
                                  {"stride", want["stride"]}}}}}}}}}.dump();
  CliResult eval = run_lmforge({"run", pipeline.string(), "--plugin-path", kPluginDir});
  ASSERT_EQ(eval.exit_code, 0) << describe(eval);
  std::ifstream summary_file(dir_.path() / "run" / "summary.json");
  const double perplexity = json::parse(summary_file)["stages"][0]["summary"]["perplexity"].get<double>();
  EXPECT_NEAR(perplexity, want["perplexity"].get<double>(), 0.02 * want["perplexity"].get<double>());
}

TEST_F(CliQuantize, GptqCalibratesOnShardsAndWritesTheGptqLayout) {
  const fs::path shards = dir_.path() / "shards";
  write_random_shards(shards, 128);  // the fixture model's vocabulary
  const fs::path gptq = dir_.path() / "gptq4";
  CliResult result =
      quantize({"--set", "quantizer.component=gptq", "--set", "quantizer.config.bits=4",
                "--set", "quantizer.config.group_size=32", "--set", "calibration.shards=" + shards.string(),
                "--set", "calibration.samples=12", "--set", "calibration.seq_length=16",
                "--set", "calibration.batch=5", "--output", gptq.string()});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_TRUE(Contains(result.out + result.err, "calibrated on 12 samples")) << describe(result);

  std::ifstream config_file(gptq / "config.json");
  const json quantization = json::parse(config_file).at("quantization_config");
  EXPECT_EQ(quantization["quant_method"], "gptq");
  EXPECT_EQ(quantization["bits"], 4);
  EXPECT_EQ(quantization["group_size"], 32);
  const json tensors = safetensors_header(gptq / "model.safetensors");
  const std::string prefix = "model.layers.1.mlp.down_proj.";  // in 96 = 3 groups of 32, out 64
  EXPECT_FALSE(tensors.contains(prefix + "weight"));
  EXPECT_EQ(tensors[prefix + "qweight"]["dtype"], "I32");
  EXPECT_EQ(tensors[prefix + "qweight"]["shape"], (json{96 * 4 / 32, 64}));
  EXPECT_EQ(tensors[prefix + "scales"]["shape"], (json{3, 64}));
  EXPECT_EQ(tensors[prefix + "g_idx"]["shape"], (json{96}));
}

TEST_F(CliQuantize, AnExistingOutputIsRefusedAndKept) {
  fs::create_directories(output());
  std::ofstream(output() / "keep.txt") << "mine";
  CliResult result = quantize();
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(Contains(result.err + result.out, "already exists")) << describe(result);
  EXPECT_EQ(read_all(output() / "keep.txt"), "mine");
}

TEST_F(CliQuantize, AnUnknownQuantizerIsNamed) {
  CliResult result = quantize({"--set", "quantizer.component=no_such_quantizer"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(Contains(result.err + result.out, "no_such_quantizer")) << describe(result);
}

}  // namespace
}  // namespace lmf::cli_test
