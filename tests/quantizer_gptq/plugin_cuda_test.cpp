// The GPTQ-layout layers' CUDA path (Note [GPTQ device layers]) through the gptq plugin's C
// vtable, as the torch backend drives it: dequantize and matmul on CUDA tensors in fp32, fp16
// and bf16 against the plugin's own CPU ops on the same imported layers, on the legacy and
// on a fresh stream, inside a CUDA graph after one warm-up call, and refused inside one
// without it. On a CUDA device with the kernels built (the GPU machine); elsewhere the
// capabilities and the refusal of CUDA tensors are checked.
#include "plugins/quantizer/common/gptq_kernels_cuda.h"
#include "plugins/quantizer/common/gptq_layout.h"
#include "tests/quantizer_gptq/random_codes.h"
#include "tests/support/quantizer_cuda_checks.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#if LMF_QUANT_CUDA
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

using lmf::testing::DlView;
using nlohmann::json;

struct LayerShape {
  int bits;
  int64_t out, in, group_size;
  bool act_order;
};

// 4-bit groups of 128 in order (the tensor-core kernel for fp16/bf16 x, split 4 ways on any
// device of 8 multiprocessors or more: 2 tiles of 128 columns, the second partial), and two
// layers only the CUDA-core kernel runs: act-order, and 3 bits.
constexpr LayerShape kInOrder{4, 200, 512, 128, false};
constexpr LayerShape kActOrder{4, 136, 256, 64, true};
constexpr LayerShape kThreeBits{3, 96, 288, 32, false};

#define SKIP_WITHOUT_CUDA_KERNELS()                                     \
  do {                                                                  \
    if (!lmf::quant::gptq_cuda_kernels_compiled())                      \
      GTEST_SKIP() << "built without the GPTQ CUDA kernels";            \
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device"; \
  } while (false)

class GptqPluginCuda : public lmf::testing::QuantizerCudaTest {
 protected:
  void SetUp() override {
    load(LMF_GPTQ_PLUGIN, "gptq");
    create();
  }

  // A random layer of `shape`, imported through the vtable (released by the fixture).
  const lmf_quantized_layer* import_random(const LayerShape& shape, uint64_t seed) {
    lmf::quant::GptqTensors packed = lmf::quant::pack_gptq(lmf::quant::gptq::testing::random_codes(
        shape.bits, shape.out, shape.in, shape.group_size, shape.act_order, seed));
    const lmf::quant::GptqShapes shapes =
        lmf::quant::gptq_shapes(shape.bits, shape.out, shape.in, packed.groups);
    auto copy = [](auto& values, const std::vector<int64_t>& dims, torch::ScalarType type) {
      return torch::from_blob(values.data(), dims, type).clone();
    };
    const std::vector<std::pair<std::string, torch::Tensor>> tensors = {
        {"qweight", copy(packed.qweight, shapes.qweight, torch::kInt32)},
        {"qzeros", copy(packed.qzeros, shapes.qzeros, torch::kInt32)},
        {"scales", copy(packed.scales, shapes.scales, torch::kInt16).view(torch::kFloat16)},
        {"g_idx", copy(packed.g_idx, shapes.g_idx, torch::kInt32)}};
    const json format = {{"format", "gptq"},
                         {"bits", shape.bits},
                         {"group_size", shape.group_size},
                         {"sym", false},
                         {"desc_act", shape.act_order}};
    lmf_quantized_layer* layer = nullptr;
    EXPECT_EQ(import(tensors, format, &layer), "");
    return layer;
  }

};


// How far a CUDA result may be from the CPU matmul: both sum exact or once-rounded products
// in fp32 in different orders, each within (in + groups) roundings of Σ|x·ŵ| (the bound of
// gptq_cuda_kernels_test.cpp), and a 16-bit y adds one rounding. A wrong code, zero, scale,
// token or chunk moves a sum by about Σ|x·ŵ| / in, far above it at these sizes.
void expect_close(const torch::Tensor& got, const torch::Tensor& expected, const torch::Tensor& x,
                  const torch::Tensor& weight, int64_t groups, const std::string& what) {
  const torch::Tensor y = got.cpu().to(torch::kFloat64);
  ASSERT_TRUE(torch::isfinite(y).all().item<bool>()) << what << ": an output was not written";
  const torch::Tensor e = expected.to(torch::kFloat64);
  const torch::Tensor magnitude =
      x.cpu().to(torch::kFloat64).abs().matmul(weight.to(torch::kFloat64).abs().t());
  const double y_unit = got.scalar_type() == torch::kFloat32   ? 0.0
                        : got.scalar_type() == torch::kFloat16 ? std::ldexp(1.0, -11)
                                                               : std::ldexp(1.0, -8);
  const torch::Tensor sum_bound =
      2.0 * static_cast<double>(x.size(1) + groups) * std::ldexp(1.0, -23) * magnitude;
  const torch::Tensor bound = sum_bound + y_unit * (e.abs() + sum_bound);
  const torch::Tensor error = (y - e).abs();
  EXPECT_EQ((error > bound).sum().item<int64_t>(), 0)
      << what << ": largest error " << error.max().item<double>() << " against a bound of "
      << bound.flatten().index({error.flatten().argmax()}).item<double>();
}

int64_t groups_of(const LayerShape& shape) {
  return shape.group_size > 0 && shape.group_size < shape.in ? shape.in / shape.group_size : 1;
}

TEST_F(GptqPluginCuda, CapabilitiesListCudaWhereTheKernelsAreBuilt) {
  lmf_string text{nullptr, 0};
  ASSERT_EQ(lmf::testing::message_of(vtable_->capabilities(instance_->get(), &text)), "");
  const json caps = json::parse(text.data, text.data + text.size);
  lmf::plugin::host_api()->free(text.data);
  EXPECT_EQ(caps.at("devices"),
            lmf::quant::gptq_cuda_kernels_compiled() ? json({"cpu", "cuda"}) : json({"cpu"}));
  EXPECT_EQ(caps.at("matmul_tokens"), 8);
}

// A build without the kernels refuses CUDA tensors before touching them, naming op and device.
TEST_F(GptqPluginCuda, WithoutTheKernelsCudaTensorsAreUnsupported) {
  if (lmf::quant::gptq_cuda_kernels_compiled()) GTEST_SKIP() << "the CUDA kernels are built";
  const lmf_quantized_layer* layer = import_random(kInOrder, 1);
  ASSERT_NE(layer, nullptr);
  DlView weight(torch::empty({kInOrder.out, kInOrder.in}));
  weight.dl.device = {kDLCUDA, 0};  // never read: the data is host memory
  const Outcome dequantized = dequantize(layer, weight);
  EXPECT_EQ(dequantized.code, LMF_ERR_UNSUPPORTED);
  EXPECT_EQ(dequantized.message,
            "dequantize: weight is on cuda:0, but this build of the plugin has no CUDA kernels "
            "(CPU only)");
  DlView x(torch::empty({1, kInOrder.in})), y(torch::empty({1, kInOrder.out}));
  x.dl.device = y.dl.device = {kDLCUDA, 1};
  const Outcome multiplied = matmul(layer, x, y);
  EXPECT_EQ(multiplied.code, LMF_ERR_UNSUPPORTED);
  EXPECT_EQ(multiplied.message,
            "matmul: x is on cuda:1, but this build of the plugin has no CUDA kernels (CPU only)");
}

// fp32: the CPU's values exactly; fp16/bf16: those rounded once.
TEST_F(GptqPluginCuda, DequantizeOnCudaIsTheCpuDequantizeRounded) {
  SKIP_WITHOUT_CUDA_KERNELS();
  for (const LayerShape& shape : {kInOrder, kActOrder, kThreeBits}) {
    const lmf_quantized_layer* layer = import_random(shape, 7);
    ASSERT_NE(layer, nullptr);
    const torch::Tensor expected = dequantize_layer(layer);
    for (torch::ScalarType type : {torch::kFloat32, torch::kFloat16, torch::kBFloat16}) {
      DlView weight(unwritten(shape.out, shape.in, type));
      ASSERT_EQ(dequantize(layer, weight).message, "");
      EXPECT_TRUE(torch::equal(weight.tensor.cpu(), expected.to(type)))
          << shape.bits << "-bit " << shape.out << "x" << shape.in << " layer in " << name_of(type);
    }
  }
}

// 1, 3 and 8 tokens in one launch, 11 in two (8 + 3); fp32 x runs the CUDA-core kernel,
// fp16/bf16 the tensor-core one where the layout allows.
TEST_F(GptqPluginCuda, MatmulOnCudaMatchesTheCpuMatmul) {
  SKIP_WITHOUT_CUDA_KERNELS();
  torch::manual_seed(3);
  for (const LayerShape& shape : {kInOrder, kActOrder, kThreeBits}) {
    const lmf_quantized_layer* layer = import_random(shape, 11);
    ASSERT_NE(layer, nullptr);
    const torch::Tensor weight = dequantize_layer(layer);
    for (torch::ScalarType type : {torch::kFloat32, torch::kFloat16, torch::kBFloat16})
      for (int64_t tokens : {1, 3, 8, 11}) {
        const torch::Tensor x = torch::randn({tokens, shape.in}).to(type);
        DlView x_view(x.to(torch::kCUDA));
        DlView y(unwritten(tokens, shape.out, type));
        ASSERT_EQ(matmul(layer, x_view, y).message, "");
        expect_close(y.tensor, cpu_matmul(layer, x), x, weight, groups_of(shape),
                     std::to_string(shape.bits) + "-bit " + std::to_string(shape.out) + "x" +
                         std::to_string(shape.in) + ", " + std::to_string(tokens) + " tokens, " +
                         name_of(type));
      }
  }
}

// An x 2 bytes past a 16-byte boundary cannot feed the tensor-core kernel: the CUDA-core one
// runs instead, with the same result.
TEST_F(GptqPluginCuda, MatmulTakesAnUnalignedInput) {
  SKIP_WITHOUT_CUDA_KERNELS();
  const lmf_quantized_layer* layer = import_random(kInOrder, 13);
  ASSERT_NE(layer, nullptr);
  torch::manual_seed(4);
  const int64_t tokens = 3;
  const torch::Tensor x = torch::randn({tokens, kInOrder.in}).to(torch::kBFloat16);
  const torch::Tensor buffer =
      torch::empty({tokens * kInOrder.in + 1}, torch::dtype(torch::kBFloat16).device(torch::kCUDA));
  const torch::Tensor shifted =
      buffer.narrow(0, 1, tokens * kInOrder.in).view({tokens, kInOrder.in});
  shifted.copy_(x);
  DlView x_view(shifted);
  ASSERT_NE(reinterpret_cast<uintptr_t>(x_view.dl.data) % 16, 0u);
  DlView y(unwritten(tokens, kInOrder.out, torch::kBFloat16));
  ASSERT_EQ(matmul(layer, x_view, y).message, "");
  expect_close(y.tensor, cpu_matmul(layer, x), x, dequantize_layer(layer), groups_of(kInOrder),
               "unaligned x");
}

TEST_F(GptqPluginCuda, RefusesMixedDtypesDevicesAndOtherTypesOnCuda) {
  SKIP_WITHOUT_CUDA_KERNELS();
  const lmf_quantized_layer* layer = import_random(kInOrder, 17);
  ASSERT_NE(layer, nullptr);
  expect_mixed_inputs_refused(layer);
}

#if LMF_QUANT_CUDA

using lmf::testing::captured_nodes;
using lmf::testing::FreshStream;

// The backend's pattern: one call of each layer on a stream, then its decode step captured
// on that stream as a CUDA graph and replayed. The calls in the capture must be recorded on
// the stream they were given (a launch on another stream would not be in the graph, and
// the legacy stream is forbidden while capturing) and must allocate nothing (cudaMalloc
// is forbidden too): the replays then write y from the x of the moment.
TEST_F(GptqPluginCuda, CallsOnAStreamAreCapturedInAGraphAfterOneWarmUp) {
  SKIP_WITHOUT_CUDA_KERNELS();
  FreshStream fresh;
  torch::manual_seed(5);
  std::vector<const lmf_quantized_layer*> layers;
  for (const LayerShape& shape : {kInOrder, kThreeBits}) layers.push_back(import_random(shape, 19));
  const std::vector<LayerShape> shapes = {kInOrder, kThreeBits};
  const std::vector<int64_t> token_counts = {1, 3, 8, 11};
  // x and y for each layer and token count, made before the capture.
  std::vector<torch::Tensor> xs, ys;
  for (const LayerShape& shape : shapes)
    for (int64_t tokens : token_counts) {
      xs.push_back(torch::randn({tokens, shape.in}).to(torch::kBFloat16).to(torch::kCUDA));
      ys.push_back(unwritten(tokens, shape.out, torch::kBFloat16));
    }
  std::vector<DlView> x_views, y_views;
  for (size_t i = 0; i < xs.size(); ++i) x_views.emplace_back(xs[i]), y_views.emplace_back(ys[i]);
  torch::cuda::synchronize();

  for (size_t l = 0; l < layers.size(); ++l) {  // the warm-up: one token
    DlView x(torch::zeros({1, shapes[l].in}, torch::dtype(torch::kBFloat16).device(torch::kCUDA)));
    DlView y(unwritten(1, shapes[l].out, torch::kBFloat16));
    torch::cuda::synchronize();
    ASSERT_EQ(matmul(layers[l], x, y, fresh.stream).message, "");
  }
  ASSERT_EQ(cudaStreamSynchronize(fresh.stream), cudaSuccess);

  ASSERT_EQ(cudaStreamBeginCapture(fresh.stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  std::vector<Outcome> captured;
  for (size_t l = 0; l < layers.size(); ++l)
    for (size_t t = 0; t < token_counts.size(); ++t) {
      const size_t i = l * token_counts.size() + t;
      captured.push_back(matmul(layers[l], x_views[i], y_views[i], fresh.stream));
    }
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
      const torch::Tensor weight = dequantize_layer(layers[l]);
      for (size_t t = 0; t < token_counts.size(); ++t) {
        const size_t i = l * token_counts.size() + t;
        expect_close(ys[i], cpu_matmul(layers[l], xs[i]), xs[i], weight, groups_of(shapes[l]),
                     "replay " + std::to_string(replay) + ", layer " + std::to_string(l) + ", " +
                         std::to_string(token_counts[t]) + " tokens");
      }
    }
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
}

// Without the warm-up on the capturing stream, the calls that would allocate inside the
// capture are refused, saying what to do, and the capture stays valid (with nothing in it);
// after it, they are captured.
TEST_F(GptqPluginCuda, CaptureWithoutAWarmUpIsRefusedAndLeavesTheCaptureValid) {
  SKIP_WITHOUT_CUDA_KERNELS();
  FreshStream fresh;
  const lmf_quantized_layer* layer = import_random(kInOrder, 23);
  ASSERT_NE(layer, nullptr);
  DlView x(torch::ones({2, kInOrder.in}, torch::dtype(torch::kBFloat16).device(torch::kCUDA)));
  DlView y(unwritten(2, kInOrder.out, torch::kBFloat16));
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

  ASSERT_EQ(matmul(layer, x, y).message, "");  // on the device, warm on the legacy stream
  torch::cuda::synchronize();
  Outcome second;  // but no workspace on this stream yet
  EXPECT_EQ(capture(second), 0u);
  EXPECT_EQ(second.code, LMF_ERR_UNSUPPORTED);
  EXPECT_NE(second.message.find("matmul: the stream has no split-K workspace on cuda:0"),
            std::string::npos)
      << second.message;

  ASSERT_EQ(matmul(layer, x, y, fresh.stream).message, "");  // the warm-up
  ASSERT_EQ(cudaStreamSynchronize(fresh.stream), cudaSuccess);
  Outcome third;
  EXPECT_GT(capture(third), 0u);
  EXPECT_EQ(third.message, "");
}

#endif  // LMF_QUANT_CUDA

}  // namespace
