// With LMF_BENCH_TRACE=FILE the backend benchmarks write a kineto trace (chrome trace
// JSON: CPU operations and CUDA kernels) of a stretch of their work instead of timing it;
// bench/backend/summarize_trace.py sums the kernels up. CUDA builds only (libtorch 2.x).
#pragma once

#include "torch_compat.h"

#if LMF_TORCH_CUDA
#include <torch/csrc/autograd/profiler_kineto.h>
#endif

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

namespace lmf::bench {

inline std::optional<std::string> trace_file() {
  const char* file = std::getenv("LMF_BENCH_TRACE");
  return file != nullptr ? std::optional<std::string>(file) : std::nullopt;
}

// Runs `work` under the profiler and saves the trace to `file`.
template <typename Work>
void write_kineto_trace(const std::string& file, Work&& work) {
#if LMF_TORCH_CUDA
  namespace profiler = torch::autograd::profiler;
  using torch::profiler::impl::ActivityType;
  const torch::profiler::impl::ProfilerConfig config(torch::profiler::impl::ProfilerState::KINETO);
  const std::set<ActivityType> activities{ActivityType::CPU, ActivityType::CUDA};
  profiler::prepareProfiler(config, activities);
  profiler::enableProfiler(config, activities);
  work();
  profiler::disableProfiler()->save(file);
  std::cerr << "trace written to " << file << "\n";
#else
  (void)work;
  std::cerr << "LMF_BENCH_TRACE (" << file << ") needs a CUDA build\n";
#endif
}

}  // namespace lmf::bench
