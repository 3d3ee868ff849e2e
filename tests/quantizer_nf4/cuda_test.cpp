// The nf4 plugin's CUDA path (Note [NF4 CUDA kernels], Note [NF4 device layers]) through its C
// vtable, as the torch backend drives it: dequantize and matmul on CUDA tensors in fp32, fp16
// and bf16 against the plugin's own CPU ops on the same layers, for layouts whose blocks span
// rows or whose rows start mid-byte, with unaligned tensors, with nested blocks of any length,
// on the legacy and on a fresh stream, inside a CUDA graph after one warm-up call, and refused
// inside one without it. On a CUDA device with the kernels built (the GPU machine); elsewhere
// the capabilities and the refusal of CUDA tensors are checked.
#include "plugins/quantizer/nf4/nf4_kernels_cuda.h"
#include "tests/support/quantizer_cuda_checks.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#if LMF_NF4_CUDA
#include <cuda_runtime_api.h>
#endif

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace {

using lmf::testing::name_of;
using lmf::testing::Outcome;
using lmf::testing::unwritten;

using lmf::quant::nf4::nf4_cuda_kernels_compiled;
using lmf::testing::DlView;
using nlohmann::json;

struct LayerShape {
  int64_t out, in, block_size;
  bool double_quant;
};

// Rows of 16 whole chunks of 32 inputs (the fast kernel, fewer chunks than lanes, 25 blocks of
// 8 rows); rows of 130 chunks (the lanes loop, and an odd row count: the last warp's second
// row is past the end), 2405 absmax values in 10 nested groups; rows of 96 inputs, so that
// blocks of 64 straddle rows (the fast kernel); rows of 33, starting mid-byte and mid-block
// (the plain kernel); the absmax unquantized, blocks of 32.
constexpr LayerShape kWhole{200, 512, 64, true};
constexpr LayerShape kLong{37, 4160, 64, true};
constexpr LayerShape kStraddling{50, 96, 64, true};
constexpr LayerShape kOddRows{64, 33, 64, true};
constexpr LayerShape kPlainAbsmax{24, 160, 32, false};
const std::vector<LayerShape> kShapes = {kWhole, kLong, kStraddling, kOddRows, kPlainAbsmax};

std::string name_of(const LayerShape& shape) {
  return std::to_string(shape.out) + "x" + std::to_string(shape.in) + " blocks of " +
         std::to_string(shape.block_size) + (shape.double_quant ? "" : " (plain absmax)");
}

#define SKIP_WITHOUT_CUDA_KERNELS()                                                         \
  do {                                                                                      \
    if (!nf4_cuda_kernels_compiled()) GTEST_SKIP() << "built without the NF4 CUDA kernels"; \
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";                     \
  } while (false)

class Nf4PluginCuda : public lmf::testing::QuantizerCudaTest {
 protected:
  void SetUp() override { load(LMF_NF4_PLUGIN, "nf4"); }

  // A seeded layer of `shape` quantized through the vtable, by an instance configured for it
  // (which releases the layers made before).
  const lmf_quantized_layer* quantized(const LayerShape& shape, uint64_t seed) {
    create({{"block_size", shape.block_size}, {"double_quant", shape.double_quant}});
    torch::manual_seed(seed);
    // Rows of different scales, so that blocks and nested groups differ.
    const torch::Tensor scales = torch::logspace(-3, -1, shape.out).unsqueeze(1);
    lmf_quantized_layer* layer = nullptr;
    EXPECT_EQ(quantize("layer", torch::randn({shape.out, shape.in}) * scales, &layer), "");
    return layer;
  }

};


// The same bits: a float tensor seen as integers of its width, so that -0 is not 0.
bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  const auto as_int = [](const torch::Tensor& t) {
    return t.cpu().contiguous().view(t.element_size() == 4 ? torch::kInt32 : torch::kInt16);
  };
  return a.scalar_type() == b.scalar_type() && torch::equal(as_int(a), as_int(b));
}

// How far a CUDA result may be from the CPU matmul. Both sum products of x and the levels in
// fp32 in different orders; each sum is within (its depth: the most roundings any term passes
// through) · 2^-24 · Σ|x·w| of the exact one. The CPU's depth is at most in/8 + in/32 + 32
// (8 lanes along a row, then a chain over its blocks), the kernels' at most in/32 + 48 (a
// chunk's chain of 32 and one a chunk of a lane, or a lane's chain in the plain kernel, then
// the shuffles), so in/4 + 80 bounds both together; a 16-bit y adds one rounding. A wrong code,
// absmax, token or row moves a sum by about Σ|x·w| / in or more, far above the bound at these
// sizes.
void expect_close(const torch::Tensor& got, const torch::Tensor& expected, const torch::Tensor& x,
                  const torch::Tensor& weight, const std::string& what) {
  const torch::Tensor y = got.cpu().to(torch::kFloat64);
  ASSERT_TRUE(torch::isfinite(y).all().item<bool>()) << what << ": an output was not written";
  const torch::Tensor e = expected.to(torch::kFloat64);
  const torch::Tensor magnitude =
      x.cpu().to(torch::kFloat64).abs().matmul(weight.to(torch::kFloat64).abs().t());
  const double y_unit = got.scalar_type() == torch::kFloat32   ? 0.0
                        : got.scalar_type() == torch::kFloat16 ? std::ldexp(1.0, -11)
                                                               : std::ldexp(1.0, -8);
  const double depth = static_cast<double>(x.size(1)) / 4.0 + 80.0;
  const torch::Tensor sum_bound = depth * std::ldexp(1.0, -24) * magnitude;
  const torch::Tensor bound = sum_bound + y_unit * (e.abs() + sum_bound);
  const torch::Tensor error = (y - e).abs();
  EXPECT_EQ((error > bound).sum().item<int64_t>(), 0)
      << what << ": largest error " << error.max().item<double>() << " against a bound of "
      << bound.flatten().index({error.flatten().argmax()}).item<double>();
}

TEST_F(Nf4PluginCuda, CapabilitiesListCudaWhereTheKernelsAreBuilt) {
  create();
  lmf_string text{nullptr, 0};
  ASSERT_EQ(lmf::testing::message_of(vtable_->capabilities(instance_->get(), &text)), "");
  const json caps = json::parse(text.data, text.data + text.size);
  lmf::plugin::host_api()->free(text.data);
  if (nf4_cuda_kernels_compiled()) {
    EXPECT_EQ(caps.at("devices"), json({"cpu", "cuda"}));
    EXPECT_EQ(caps.at("matmul_tokens"), 8);
  } else {
    EXPECT_EQ(caps.at("devices"), json({"cpu"}));
    EXPECT_FALSE(caps.contains("matmul_tokens"));
  }
}

// A build without the kernels refuses CUDA tensors before touching them, naming op and device.
TEST_F(Nf4PluginCuda, WithoutTheKernelsCudaTensorsAreUnsupported) {
  if (nf4_cuda_kernels_compiled()) GTEST_SKIP() << "the CUDA kernels are built";
  const lmf_quantized_layer* layer = quantized(kWhole, 1);
  ASSERT_NE(layer, nullptr);
  DlView weight(torch::empty({kWhole.out, kWhole.in}));
  weight.dl.device = {kDLCUDA, 0};  // never read: the data is host memory
  const Outcome dequantized = dequantize(layer, weight);
  EXPECT_EQ(dequantized.code, LMF_ERR_UNSUPPORTED);
  EXPECT_EQ(dequantized.message,
            "dequantize: weight is on cuda:0, but this build of the nf4 plugin has no CUDA "
            "kernels (CPU only)");
  DlView x(torch::empty({1, kWhole.in})), y(torch::empty({1, kWhole.out}));
  x.dl.device = y.dl.device = {kDLCUDA, 1};
  const Outcome multiplied = matmul(layer, x, y);
  EXPECT_EQ(multiplied.code, LMF_ERR_UNSUPPORTED);
  EXPECT_EQ(multiplied.message,
            "matmul: x is on cuda:1, but this build of the nf4 plugin has no CUDA kernels (CPU "
            "only)");
  DlView x_cpu(torch::empty({1, kWhole.in}));  // y alone on CUDA is named
  const Outcome y_only = matmul(layer, x_cpu, y);
  EXPECT_EQ(y_only.code, LMF_ERR_UNSUPPORTED);
  EXPECT_EQ(y_only.message,
            "matmul: y is on cuda:1, but this build of the nf4 plugin has no CUDA kernels (CPU "
            "only)");
}

// fp32: the CPU's values bit for bit; fp16/bf16: those rounded once, to nearest even. Twice,
// the second time from the copy the first made.
TEST_F(Nf4PluginCuda, DequantizeOnCudaIsTheCpuDequantizeRounded) {
  SKIP_WITHOUT_CUDA_KERNELS();
  for (const LayerShape& shape : kShapes) {
    const lmf_quantized_layer* layer = quantized(shape, 7);
    ASSERT_NE(layer, nullptr);
    const torch::Tensor expected = dequantize_layer(layer);
    for (int call = 0; call < 2; ++call)
      for (torch::ScalarType type : {torch::kFloat32, torch::kFloat16, torch::kBFloat16}) {
        DlView weight(unwritten(shape.out, shape.in, type));
        ASSERT_EQ(dequantize(layer, weight).message, "");
        EXPECT_TRUE(same_bits(weight.tensor, expected.to(type)))
            << name_of(shape) << " in " << name_of(type) << ", call " << call;
      }
  }
}

// A weight 2 or 4 bytes past a 16-byte boundary is written value by value, the same values.
TEST_F(Nf4PluginCuda, DequantizeIntoAnUnalignedWeight) {
  SKIP_WITHOUT_CUDA_KERNELS();
  const lmf_quantized_layer* layer = quantized(kStraddling, 9);
  ASSERT_NE(layer, nullptr);
  const torch::Tensor expected = dequantize_layer(layer);
  for (torch::ScalarType type : {torch::kFloat32, torch::kFloat16, torch::kBFloat16}) {
    const int64_t elements = kStraddling.out * kStraddling.in;
    const torch::Tensor buffer =
        torch::full({elements + 1}, std::numeric_limits<float>::quiet_NaN(),
                    torch::dtype(type).device(torch::kCUDA));
    DlView weight(buffer.narrow(0, 1, elements).view({kStraddling.out, kStraddling.in}));
    ASSERT_NE(reinterpret_cast<uintptr_t>(weight.dl.data) % 16, 0u);
    ASSERT_EQ(dequantize(layer, weight).message, "");
    EXPECT_TRUE(same_bits(weight.tensor, expected.to(type))) << name_of(type);
    EXPECT_TRUE(torch::isnan(buffer.narrow(0, 0, 1).cpu()).all().item<bool>())
        << name_of(type) << ": wrote before the weight";
  }
}

// 1, 3 and 8 tokens in one launch, 13 in two (8 + 5).
TEST_F(Nf4PluginCuda, MatmulOnCudaMatchesTheCpuMatmul) {
  SKIP_WITHOUT_CUDA_KERNELS();
  for (const LayerShape& shape : kShapes) {
    const lmf_quantized_layer* layer = quantized(shape, 11);
    ASSERT_NE(layer, nullptr);
    const torch::Tensor weight = dequantize_layer(layer);
    torch::manual_seed(3);
    for (torch::ScalarType type : {torch::kFloat32, torch::kFloat16, torch::kBFloat16})
      for (int64_t tokens : {1, 3, 8, 13}) {
        const torch::Tensor x = torch::randn({tokens, shape.in}).to(type);
        DlView x_view(x.to(torch::kCUDA));
        DlView y(unwritten(tokens, shape.out, type));
        ASSERT_EQ(matmul(layer, x_view, y).message, "");
        expect_close(y.tensor, cpu_matmul(layer, x), x, weight,
                     name_of(shape) + ", " + std::to_string(tokens) + " tokens, " + name_of(type));
      }
  }
}

// An x 2 bytes past a 16-byte boundary cannot feed the fast kernel: the plain one runs
// instead, with the same result.
TEST_F(Nf4PluginCuda, MatmulTakesAnUnalignedInput) {
  SKIP_WITHOUT_CUDA_KERNELS();
  const lmf_quantized_layer* layer = quantized(kWhole, 13);
  ASSERT_NE(layer, nullptr);
  torch::manual_seed(4);
  const int64_t tokens = 3;
  const torch::Tensor x = torch::randn({tokens, kWhole.in}).to(torch::kBFloat16);
  const torch::Tensor buffer =
      torch::empty({tokens * kWhole.in + 1}, torch::dtype(torch::kBFloat16).device(torch::kCUDA));
  const torch::Tensor shifted = buffer.narrow(0, 1, tokens * kWhole.in).view({tokens, kWhole.in});
  shifted.copy_(x);
  DlView x_view(shifted);
  ASSERT_NE(reinterpret_cast<uintptr_t>(x_view.dl.data) % 16, 0u);
  DlView y(unwritten(tokens, kWhole.out, torch::kBFloat16));
  ASSERT_EQ(matmul(layer, x_view, y).message, "");
  expect_close(y.tensor, cpu_matmul(layer, x), x, dequantize_layer(layer), "unaligned x");
}

// A checkpoint may say any nested block size: an imported layer with nested groups of 100
// absmax values (not a power of two) dequantizes bit for bit and multiplies as on the CPU.
TEST_F(Nf4PluginCuda, NestedBlocksOfAnyLength) {
  SKIP_WITHOUT_CUDA_KERNELS();
  const lmf_quantized_layer* made = quantized(kLong, 17);
  ASSERT_NE(made, nullptr);
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (size_t i = 0; i < made->tensor_count; ++i) {
    const std::string name(made->tensors[i].name.data, made->tensors[i].name.size);
    const DLTensor& t = made->tensors[i].tensor->dl_tensor;
    const auto type = t.dtype.code == kDLUInt ? torch::kUInt8 : torch::kFloat32;
    tensors.emplace_back(
        name,
        torch::from_blob(t.data, std::vector<int64_t>(t.shape, t.shape + t.ndim), type).clone());
  }
  const int64_t blocks = kLong.out * kLong.in / kLong.block_size, nested = 100;
  torch::manual_seed(5);
  for (auto& [name, tensor] : tensors)
    if (name == "nested_absmax")
      tensor = torch::rand({(blocks + nested - 1) / nested}) * 0.05 + 0.01;
  json format = json::parse(std::string(made->format_json.data, made->format_json.size));
  format["nested_blocksize"] = nested;
  lmf_quantized_layer* layer = nullptr;
  ASSERT_EQ(import(tensors, format, &layer), "");
  const torch::Tensor expected = dequantize_layer(layer);
  for (torch::ScalarType type : {torch::kFloat32, torch::kBFloat16}) {
    DlView weight(unwritten(kLong.out, kLong.in, type));
    ASSERT_EQ(dequantize(layer, weight).message, "");
    EXPECT_TRUE(same_bits(weight.tensor, expected.to(type))) << name_of(type);
  }
  const torch::Tensor x = torch::randn({2, kLong.in});
  DlView x_view(x.to(torch::kCUDA));
  DlView y(unwritten(2, kLong.out, torch::kFloat32));
  ASSERT_EQ(matmul(layer, x_view, y).message, "");
  expect_close(y.tensor, cpu_matmul(layer, x), x, expected, "nested blocks of 100");
}

TEST_F(Nf4PluginCuda, RefusesMixedDtypesDevicesAndOtherTypesOnCuda) {
  SKIP_WITHOUT_CUDA_KERNELS();
  const lmf_quantized_layer* layer = quantized(kWhole, 19);
  ASSERT_NE(layer, nullptr);
  DlView x(torch::zeros({2, kWhole.in}, torch::dtype(torch::kBFloat16).device(torch::kCUDA)));
  expect_mixed_inputs_refused(layer);
  DlView y_short(unwritten(2, kWhole.out - 1, torch::kBFloat16));
  Outcome refused = matmul(layer, x, y_short);
  EXPECT_EQ(refused.code, LMF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(refused.message,
            "matmul: y [tokens, out_features]: expected shape [2, 200], got "
            "[2, 199]");
}

#if LMF_NF4_CUDA

using lmf::testing::captured_nodes;
using lmf::testing::FreshStream;

// The backend's pattern: one call of each layer (the upload), then its decode step captured
// on a stream as a CUDA graph and replayed. The calls in the capture must be recorded on the
// stream they were given (a launch on another stream would not be in the graph, and the
// legacy stream is forbidden while capturing) and must allocate nothing (cudaMalloc is
// forbidden too): the replays then write y from the x of the moment. Both kernels: rows of
// whole chunks and rows of 33 inputs.
TEST_F(Nf4PluginCuda, CallsOnAStreamAreCapturedInAGraphAfterOneWarmUp) {
  SKIP_WITHOUT_CUDA_KERNELS();
  FreshStream fresh;
  create();  // blocks of 64, double quantization: both shapes
  const std::vector<LayerShape> shapes = {kWhole, kOddRows};
  std::vector<const lmf_quantized_layer*> layers;
  torch::manual_seed(21);
  for (const LayerShape& shape : shapes) {
    lmf_quantized_layer* layer = nullptr;
    ASSERT_EQ(quantize("layer", torch::randn({shape.out, shape.in}) * 0.02, &layer), "");
    layers.push_back(layer);
  }
  const std::vector<int64_t> token_counts = {1, 3, 8, 13};
  std::vector<torch::Tensor> xs, ys;  // for each layer and token count, made before the capture
  for (const LayerShape& shape : shapes)
    for (int64_t tokens : token_counts) {
      xs.push_back(torch::randn({tokens, shape.in}).to(torch::kBFloat16).to(torch::kCUDA));
      ys.push_back(unwritten(tokens, shape.out, torch::kBFloat16));
    }
  std::vector<DlView> x_views, y_views;
  for (size_t i = 0; i < xs.size(); ++i) x_views.emplace_back(xs[i]), y_views.emplace_back(ys[i]);
  DlView weight(unwritten(kWhole.out, kWhole.in, torch::kBFloat16));
  torch::cuda::synchronize();

  for (size_t l = 0; l < layers.size(); ++l) {  // the warm-up: one token, the legacy stream
    DlView x(torch::zeros({1, shapes[l].in}, torch::dtype(torch::kBFloat16).device(torch::kCUDA)));
    DlView y(unwritten(1, shapes[l].out, torch::kBFloat16));
    ASSERT_EQ(matmul(layers[l], x, y).message, "");
  }
  torch::cuda::synchronize();

  ASSERT_EQ(cudaStreamBeginCapture(fresh.stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  std::vector<Outcome> captured;
  for (size_t l = 0; l < layers.size(); ++l)
    for (size_t t = 0; t < token_counts.size(); ++t) {
      const size_t i = l * token_counts.size() + t;
      captured.push_back(matmul(layers[l], x_views[i], y_views[i], fresh.stream));
    }
  captured.push_back(dequantize(layers[0], weight, fresh.stream));
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(fresh.stream, &graph), cudaSuccess);
  for (const Outcome& outcome : captured) EXPECT_EQ(outcome.message, "");
  for (const torch::Tensor& y : ys)
    EXPECT_TRUE(torch::isnan(y.cpu()).all().item<bool>()) << "a captured call ran eagerly";
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);

  for (int replay = 0; replay < 2; ++replay) {
    if (replay == 1) {  // new inputs: the graph reads x when it runs
      for (torch::Tensor& x : xs) x.copy_(torch::randn(x.sizes()).to(torch::kBFloat16));
      torch::cuda::synchronize();
    }
    ASSERT_EQ(cudaGraphLaunch(exec, fresh.stream), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(fresh.stream), cudaSuccess);
    for (size_t l = 0; l < layers.size(); ++l) {
      const torch::Tensor w = dequantize_layer(layers[l]);
      for (size_t t = 0; t < token_counts.size(); ++t) {
        const size_t i = l * token_counts.size() + t;
        expect_close(ys[i], cpu_matmul(layers[l], xs[i]), xs[i], w,
                     "replay " + std::to_string(replay) + ", " + name_of(shapes[l]) + ", " +
                         std::to_string(token_counts[t]) + " tokens");
      }
    }
    EXPECT_TRUE(same_bits(weight.tensor, dequantize_layer(layers[0]).to(torch::kBFloat16)));
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
}

// Without the warm-up, the call that would copy the layer inside the capture is refused,
// saying what to do, and the capture stays valid (with nothing in it); after one call on any
// stream, it is captured.
TEST_F(Nf4PluginCuda, CaptureBeforeTheFirstCallIsRefusedAndLeavesTheCaptureValid) {
  SKIP_WITHOUT_CUDA_KERNELS();
  FreshStream fresh;
  const lmf_quantized_layer* layer = quantized(kWhole, 23);
  ASSERT_NE(layer, nullptr);
  DlView x(torch::ones({2, kWhole.in}, torch::dtype(torch::kBFloat16).device(torch::kCUDA)));
  DlView y(unwritten(2, kWhole.out, torch::kBFloat16));
  torch::cuda::synchronize();
  auto capture = [&](Outcome& outcome) {
    return captured_nodes(fresh.stream, [&] { outcome = matmul(layer, x, y, fresh.stream); });
  };

  Outcome first;  // the layer is not on the device yet
  EXPECT_EQ(capture(first), 0u);
  EXPECT_EQ(first.code, LMF_ERR_UNSUPPORTED);
  EXPECT_NE(first.message.find("matmul: the layer's first call on cuda:0 copies it there"),
            std::string::npos)
      << first.message;

  ASSERT_EQ(matmul(layer, x, y).message, "");  // on the device, from the legacy stream
  torch::cuda::synchronize();
  Outcome second;
  EXPECT_GT(capture(second), 0u);
  EXPECT_EQ(second.message, "");
}

#endif  // LMF_NF4_CUDA

}  // namespace
