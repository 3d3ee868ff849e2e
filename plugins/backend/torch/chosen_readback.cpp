#include "chosen_readback.h"

#include "torch_compat.h"

#include <array>
#include <deque>
#include <stdexcept>

#if LMF_TORCH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

namespace lmf::torch_backend {

// Pinned host buffers, each with the event its copy records: waiting on one event leaves
// the work queued after that copy running.
struct ChosenReadback::Slots {
#if LMF_TORCH_CUDA
  std::array<torch::Tensor, kSlots> host;
  std::array<at::cuda::CUDAEvent, kSlots> copied;
  std::deque<int> pending;
  int next = 0;
#else
  std::deque<std::vector<int64_t>> pending;  // no CUDA: copied when queued
#endif
};

ChosenReadback::ChosenReadback(int64_t batch) : slots_(std::make_unique<Slots>()) {
#if LMF_TORCH_CUDA
  for (torch::Tensor& host : slots_->host)
    host = torch::empty({batch}, torch::TensorOptions().dtype(torch::kInt64).pinned_memory(true));
#else
  (void)batch;
#endif
}

ChosenReadback::~ChosenReadback() = default;

size_t ChosenReadback::pending() const {
  return slots_->pending.size();
}

void ChosenReadback::discard_pending() {
  slots_->pending.clear();  // a later copy into a slot queues after the forgotten one
}

void ChosenReadback::enqueue(const torch::Tensor& ids) {
  if (pending() == static_cast<size_t>(kSlots))
    throw std::logic_error("ChosenReadback: " + std::to_string(kSlots) + " copies already pending");
#if LMF_TORCH_CUDA
  const int slot = slots_->next;
  slots_->next = (slot + 1) % kSlots;
  slots_->host[slot].copy_(ids, /*non_blocking=*/true);
  slots_->copied[slot].record(at::cuda::getCurrentCUDAStream(ids.device().index()));  // the copy's stream
  slots_->pending.push_back(slot);
#else
  const torch::Tensor host = ids.to(torch::kCPU).contiguous();
  slots_->pending.emplace_back(host.data_ptr<int64_t>(), host.data_ptr<int64_t>() + host.numel());
#endif
}

std::vector<int64_t> ChosenReadback::take_oldest() {
  if (pending() == 0) throw std::logic_error("ChosenReadback: no copy pending");
#if LMF_TORCH_CUDA
  const int slot = slots_->pending.front();
  slots_->pending.pop_front();
  slots_->copied[slot].synchronize();
  const torch::Tensor& host = slots_->host[slot];
  return std::vector<int64_t>(host.data_ptr<int64_t>(), host.data_ptr<int64_t>() + host.numel());
#else
  std::vector<int64_t> ids = std::move(slots_->pending.front());
  slots_->pending.pop_front();
  return ids;
#endif
}

}  // namespace lmf::torch_backend
