// gptq_cuda.h in a build without CUDA: nothing compiled, every call refused, so that the
// solver and the tests link everywhere and ask gptq_cuda_compiled() first.
#include "gptq_cuda.h"

#include <stdexcept>

namespace lmf::quant::gptq {
namespace {
[[noreturn]] void unavailable() {
  throw std::logic_error("GPTQ CUDA code called in a build without CUDA");
}
}  // namespace

bool gptq_cuda_compiled() {
  return false;
}

bool solve_block_fits(int, int64_t) {
  unavailable();
}

void solve_block_cuda(const BlockSolveArgs&, void*) {
  unavailable();
}

void accumulate_gram_bf16_cuda(const void*, int64_t, int64_t, float, float, float*, void*) {
  unavailable();
}

}  // namespace lmf::quant::gptq
