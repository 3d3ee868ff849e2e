#include "request_batcher.h"

#include <algorithm>

namespace lmf::torch_backend {

GenerationOutput RequestBatcher::submit(GenerationRequest request) {
  Job job{std::move(request), {}, nullptr, false};
  std::unique_lock lock(mutex_);
  queue_.push_back(&job);
  while (!job.done) {
    if (running_) {
      finished_.wait(lock);
      continue;
    }
    running_ = true;
    const size_t take = std::min(queue_.size(), max_batch_);
    std::vector<Job*> batch(queue_.begin(), queue_.begin() + static_cast<long>(take));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(take));
    lock.unlock();
    run_batch(batch);
    lock.lock();
    for (Job* done : batch) done->done = true;
    running_ = false;
    finished_.notify_all();
  }
  if (job.error) std::rethrow_exception(job.error);
  return std::move(job.output);
}

void RequestBatcher::run_batch(std::vector<Job*>& batch) {
  std::vector<GenerationRequest> requests;
  requests.reserve(batch.size());
  for (Job* job : batch) requests.push_back(std::move(job->request));
  try {
    std::vector<GenerationOutput> outputs = run_(requests);
    for (size_t i = 0; i < batch.size(); ++i) batch[i]->output = std::move(outputs[i]);
  } catch (...) {
    for (Job* job : batch) job->error = std::current_exception();
  }
}

}  // namespace lmf::torch_backend
