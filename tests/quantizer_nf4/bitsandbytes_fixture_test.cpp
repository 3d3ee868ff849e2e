// Parity with bitsandbytes itself: seeded weights quantized by bitsandbytes'
// quantize_4bit(quant_type="nf4") on CUDA and saved in transformers' state-dict layout by
// tests/fixtures/quantizer/nf4/make_nf4_fixtures.py (GPU machine). Skipped until they exist.
#include "checkpoint/safetensors_reader.h"
#include "plugins/quantizer/nf4/nf4_codebook.h"
#include "tests/quantizer_nf4/nf4_plugin_session.h"
#include "tests/quantizer_nf4/nf4_test_support.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>

namespace lmf::quant::nf4::testing {
namespace {

using checkpoint::DType;
using checkpoint::SafetensorsReader;
using checkpoint::TensorEntry;

const std::filesystem::path kFixtures = LMF_NF4_FIXTURES_DIR;
constexpr const char* kQuantStateKey = "weight.quant_state.bitsandbytes__nf4";

struct Case {
  std::string name;
  int64_t rows = 0, cols = 0, block_size = 64;
  bool double_quant = true;
  std::unique_ptr<SafetensorsReader> file;
};

std::optional<std::vector<Case>> load_cases() {
  std::ifstream in(kFixtures / "manifest.json");
  if (!in) return std::nullopt;
  const json manifest = json::parse(in);
  std::vector<Case> cases;
  for (const json& entry : manifest.at("cases")) {
    Case c;
    c.name = entry.at("name").get<std::string>();
    c.rows = entry.at("shape").at(0).get<int64_t>();
    c.cols = entry.at("shape").at(1).get<int64_t>();
    c.block_size = entry.at("block_size").get<int64_t>();
    c.double_quant = entry.at("double_quant").get<bool>();
    c.file = std::make_unique<SafetensorsReader>(kFixtures / entry.at("file").get<std::string>());
    cases.push_back(std::move(c));
  }
  return cases;
}

#define LOAD_CASES_OR_SKIP(cases)                                                                \
  std::optional<std::vector<Case>> cases = load_cases();                                         \
  if (!cases)                                                                                    \
    GTEST_SKIP() << "no fixtures in " << kFixtures                                               \
                 << ": run tests/fixtures/quantizer/nf4/make_nf4_fixtures.py on a machine with " \
                    "bitsandbytes and CUDA (docs/testing.md)";

template <class T>
std::vector<T> values(const TensorEntry& entry) {
  std::vector<T> out(entry.nbytes / sizeof(T));
  std::memcpy(out.data(), entry.data, entry.nbytes);
  return out;
}

json quant_state(const SafetensorsReader& file) {
  const TensorEntry& bytes = file.at(kQuantStateKey);
  return json::parse(reinterpret_cast<const char*>(bytes.data),
                     reinterpret_cast<const char*>(bytes.data) + bytes.nbytes);
}

HostTensor host_copy(const TensorEntry& entry) {
  const DLDataType dtype =
      entry.dtype == DType::U8 ? DLDataType{kDLUInt, 8, 1} : DLDataType{kDLFloat, 32, 1};
  HostTensor tensor(dtype, entry.shape);
  std::memcpy(tensor.data<char>(), entry.data, entry.nbytes);
  return tensor;
}

// The layer's tensors and format_json read from transformers' keys, as docs/quantization.md
// ("nf4") maps them: <p>.weight, <p>.weight.<name>, and the quant_state JSON.
ExportedTensors from_transformers(const SafetensorsReader& file, json* format) {
  const json state = quant_state(file);
  const bool double_quant = state.contains("nested_offset");
  *format = {{"format", "nf4"},
             {"quant_type", state.at("quant_type")},
             {"blocksize", state.at("blocksize")},
             {"double_quant", double_quant},
             {"shape", state.at("shape")}};
  ExportedTensors tensors;
  tensors.add("weight", host_copy(file.at("weight")));
  for (const char* name : {"absmax", "quant_map", "nested_absmax", "nested_quant_map"})
    if (const TensorEntry* entry = file.find(std::string("weight.") + name))
      tensors.add(name, host_copy(*entry));
  if (double_quant) {
    (*format)["nested_blocksize"] = state.at("nested_blocksize");
    HostTensor offset(conformance::float32_type(), {1});
    *offset.data<float>() = state.at("nested_offset").get<float>();
    tensors.add("nested_offset", std::move(offset));
  }
  return tensors;
}

TEST(BitsandbytesFixtures, CodebooksAreBitsandbytesOwn) {
  LOAD_CASES_OR_SKIP(cases);
  for (const Case& c : *cases) {
    const std::vector<float> quant_map = values<float>(c.file->at("weight.quant_map"));
    ASSERT_EQ(quant_map.size(), 16u) << c.name;
    for (size_t i = 0; i < 16; ++i) EXPECT_EQ(quant_map[i], kNf4Levels[i]) << c.name << " " << i;
    if (!c.double_quant) continue;
    const std::vector<float> map = values<float>(c.file->at("weight.nested_quant_map"));
    ASSERT_EQ(map.size(), 256u) << c.name;
    for (size_t i = 0; i < 256; ++i)
      EXPECT_EQ(map[i], dynamic_map()[i]) << c.name << ": dynamic map entry " << i;
  }
}

TEST(BitsandbytesFixtures, TransformersTensorsImportAndDequantizeBitForBit) {
  LOAD_CASES_OR_SKIP(cases);
  Nf4Session session;
  for (const Case& c : *cases) {
    json format;
    const ExportedTensors tensors = from_transformers(*c.file, &format);
    const lmf_quantized_layer* layer = nullptr;
    const Outcome outcome = session.import(tensors, format, &layer);
    ASSERT_TRUE(outcome.ok()) << c.name << ": " << outcome.message;
    const std::vector<float> expected = values<float>(c.file->at("dequantized"));
    const std::vector<float> got = session.dequantize(layer);
    ASSERT_EQ(got.size(), expected.size()) << c.name;
    size_t differing = 0;
    for (size_t i = 0; i < got.size(); ++i) differing += got[i] != expected[i] ? 1 : 0;
    EXPECT_EQ(differing, 0u) << c.name << ": dequantize_4bit differs in " << differing << " of "
                             << got.size() << " weights";
  }
}

// Whether two different codes of `value` are explained by bitsandbytes' approximate
// reciprocal (Note [Rounding as bitsandbytes does]): neighbours, with value within a few
// ulps of their midpoint.
bool explained_by_reciprocal(double value, int code_a, int code_b, const float* levels) {
  if (std::abs(code_a - code_b) != 1) return false;
  const double midpoint =
      (static_cast<double>(levels[code_a]) + static_cast<double>(levels[code_b])) / 2;
  return std::fabs(value - midpoint) <= 4 * 0x1.0p-24 * std::max(std::fabs(value), 1e-30);
}

TEST(BitsandbytesFixtures, QuantizeGivesBitsandbytesBytes) {
  LOAD_CASES_OR_SKIP(cases);
  for (const Case& c : *cases) {
    Nf4Session session(json{{"block_size", c.block_size}, {"double_quant", c.double_quant}});
    const std::vector<float> w = values<float>(c.file->at("input"));
    const lmf_quantized_layer* layer = nullptr;
    ASSERT_TRUE(session.quantize(c.name, c.rows, c.cols, w, &layer).ok()) << c.name;

    // The packed codes.
    const std::vector<float> absmax = values<float>(c.file->at("absmax_fp32"));
    const std::vector<uint8_t> theirs = values<uint8_t>(c.file->at("weight"));
    const DLTensor& packed = *layer_tensor(*layer, "weight");
    const std::vector<uint8_t> mine(static_cast<const uint8_t*>(packed.data),
                                    static_cast<const uint8_t*>(packed.data) + theirs.size());
    size_t explained = 0;
    for (int64_t i = 0; i < c.rows * c.cols; ++i) {
      const int a = reference_code(mine, i), b = reference_code(theirs, i);
      if (a == b) continue;
      const double normalized =
          w[static_cast<size_t>(i)] / absmax[static_cast<size_t>(i / c.block_size)];
      ASSERT_TRUE(explained_by_reciprocal(normalized, a, b, kNf4Levels.data()))
          << c.name << ": element " << i << " has code " << a << ", bitsandbytes " << b
          << " (w / absmax = " << normalized << ")";
      ++explained;
    }
    if (explained > 0)
      std::cout << c.name << ": " << explained << " codes differ on a threshold (fast-math 1/x)\n";

    // The absmax values.
    const DLTensor& my_absmax = *layer_tensor(*layer, "absmax");
    if (!c.double_quant) {
      const std::vector<float> stored = values<float>(c.file->at("weight.absmax"));
      EXPECT_EQ(std::vector<float>(static_cast<const float*>(my_absmax.data),
                                   static_cast<const float*>(my_absmax.data) + stored.size()),
                stored)
          << c.name;
      continue;
    }
    const json state = quant_state(*c.file);
    const float offset = state.at("nested_offset").get<float>();
    const float my_offset = *static_cast<const float*>(layer_tensor(*layer, "nested_offset")->data);
    // torch's float32 mean on CUDA against the correctly rounded one.
    EXPECT_NEAR(my_offset, offset, 1e-6 * std::fabs(offset)) << c.name;
    const std::vector<float> nested = values<float>(c.file->at("weight.nested_absmax"));
    const auto* my_nested = static_cast<const float*>(layer_tensor(*layer, "nested_absmax")->data);
    for (size_t k = 0; k < nested.size(); ++k)
      EXPECT_NEAR(my_nested[k], nested[k], 1e-6 * nested[k]) << c.name << " nested block " << k;
    const std::vector<uint8_t> codes = values<uint8_t>(c.file->at("weight.absmax"));
    const auto* my_codes = static_cast<const uint8_t*>(my_absmax.data);
    for (size_t b = 0; b < codes.size(); ++b) {
      if (my_codes[b] == codes[b]) continue;
      const double normalized = (absmax[b] - offset) / nested[b / 256];
      const float* map = dynamic_map().data();
      const double midpoint = (static_cast<double>(map[my_codes[b]]) + map[codes[b]]) / 2;
      EXPECT_TRUE(std::abs(my_codes[b] - codes[b]) == 1 && std::fabs(normalized - midpoint) < 1e-5)
          << c.name << ": absmax " << b << " has code " << int(my_codes[b]) << ", bitsandbytes "
          << int(codes[b]) << " (normalized " << normalized << ")";
    }
  }
}

}  // namespace
}  // namespace lmf::quant::nf4::testing
