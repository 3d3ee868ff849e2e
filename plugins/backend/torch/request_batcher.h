// Batches concurrent generate calls (the ABI allows several threads to call `generate` at
// once): requests that arrive while a batch runs wait and form the next batch. The
// thread that finds no batch running becomes the one that runs it; the others block
// until their own request is done. No timers: a request waits only for the batch ahead.
#pragma once

#include "generation.h"

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <vector>

namespace lmf::torch_backend {

class RequestBatcher {
 public:
  using RunBatch = std::function<std::vector<GenerationOutput>(std::vector<GenerationRequest>&)>;

  RequestBatcher(RunBatch run, size_t max_batch) : run_(std::move(run)), max_batch_(max_batch) {}

  // Blocks until `request` is generated; rethrows what its batch threw.
  GenerationOutput submit(GenerationRequest request);

 private:
  struct Job {
    GenerationRequest request;
    GenerationOutput output;
    std::exception_ptr error;
    bool done = false;
  };
  void run_batch(std::vector<Job*>& batch);

  RunBatch run_;
  size_t max_batch_;
  std::mutex mutex_;
  std::condition_variable finished_;
  std::vector<Job*> queue_;
  bool running_ = false;
};

}  // namespace lmf::torch_backend
