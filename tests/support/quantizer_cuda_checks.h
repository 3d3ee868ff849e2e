// What the quantizer plugins' CUDA tests share: a call's status code and message, the
// fixture's dequantize and matmul through the vtable on any tensors, the plugin's CPU matmul
// as the reference, and output tensors that show whether they were written.
#pragma once

#include "tests/support/quantizer_plugin_fixture.h"

#include <limits>
#include <string>

#if defined(LMF_QUANT_CUDA) || defined(LMF_NF4_CUDA)
#include <cuda_runtime.h>
#endif

namespace lmf::testing {

struct Outcome {
  lmf_status_code code = LMF_OK;
  std::string message;
};

inline Outcome outcome_of(lmf_status_t* status) {
  if (status == nullptr) return {};
  Outcome out{plugin::host_api()->status_code(status), ""};
  out.message = message_of(status);
  return out;
}

inline std::string name_of(torch::ScalarType type) {
  return type == torch::kFloat32 ? "float32" : type == torch::kFloat16 ? "float16" : "bfloat16";
}

// A tensor of `type` on the GPU, NaN until written.
inline torch::Tensor unwritten(int64_t rows, int64_t cols, torch::ScalarType type) {
  return torch::full({rows, cols}, std::numeric_limits<float>::quiet_NaN(),
                     torch::dtype(type).device(torch::kCUDA));
}

class QuantizerCudaTest : public QuantizerPluginTest {
 protected:
  Outcome dequantize(const lmf_quantized_layer* layer, DlView& weight, void* stream = nullptr) {
    return outcome_of(vtable_->dequantize(instance_->get(), layer, &weight.dl, stream));
  }

  Outcome matmul(const lmf_quantized_layer* layer, DlView& x, DlView& y, void* stream = nullptr) {
    return outcome_of(vtable_->matmul(instance_->get(), layer, &x.dl, &y.dl, stream));
  }

  // What every CUDA path must refuse, naming the reason: x and y of two dtypes, x and y on
  // two devices, an integer weight for dequantize. `layer` is [out, in].
  void expect_mixed_inputs_refused(const lmf_quantized_layer* layer) {
    const int64_t out = layer->out_features, in = layer->in_features;
    DlView x(torch::zeros({2, in}, torch::dtype(torch::kBFloat16).device(torch::kCUDA)));
    DlView y32(unwritten(2, out, torch::kFloat32));
    Outcome refused = matmul(layer, x, y32);
    EXPECT_EQ(refused.code, LMF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(refused.message, "matmul: x is bfloat16 and y float32: they must have one dtype");
    DlView y_cpu(torch::empty({2, out}));
    refused = matmul(layer, x, y_cpu);
    EXPECT_EQ(refused.code, LMF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(refused.message, "matmul: x is on cuda:0 and y on cpu: they must be on one device");
    DlView ints(torch::zeros({out, in}, torch::dtype(torch::kInt32).device(torch::kCUDA)));
    refused = dequantize(layer, ints);
    EXPECT_EQ(refused.code, LMF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(refused.message, "dequantize: weight: expected float32, float16 or bfloat16 on CUDA, got int32");
  }

  // The plugin's CPU matmul of x (as float32): the reference.
  torch::Tensor cpu_matmul(const lmf_quantized_layer* layer, const torch::Tensor& x) {
    DlView in(x.cpu().to(torch::kFloat32));
    DlView out(torch::empty({x.size(0), layer->out_features}));
    EXPECT_EQ(matmul(layer, in, out).message, "");
    return out.tensor;
  }
};

#if defined(LMF_QUANT_CUDA) || defined(LMF_NF4_CUDA)
// A CUDA stream of its own, destroyed at the end of the test.
struct FreshStream {
  FreshStream() { EXPECT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess); }
  ~FreshStream() { cudaStreamDestroy(stream); }
  cudaStream_t stream = nullptr;
};

// Records what `call` queues on `stream` into a graph and returns how many nodes it holds;
// the capture must end valid whatever the call did.
template <class Call>
size_t captured_nodes(cudaStream_t stream, Call&& call) {
  cudaGraph_t graph = nullptr;
  EXPECT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  call();
  EXPECT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess) << "the capture broke";
  size_t nodes = 0;
  EXPECT_EQ(cudaGraphGetNodes(graph, nullptr, &nodes), cudaSuccess);
  cudaGraphDestroy(graph);
  return nodes;
}
#endif

}  // namespace lmf::testing
