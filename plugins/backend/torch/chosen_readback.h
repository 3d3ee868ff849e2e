// The greedy steps' choices read back to the host without waiting for the steps launched
// after them (Note [Steps in flight], decode_stepper.h).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace lmf::torch_backend {

class ChosenReadback {
 public:
  static constexpr int kSlots = 3;  // copies in flight at most

  explicit ChosenReadback(int64_t batch);
  ~ChosenReadback();

  // Queues a copy of `ids` [batch] int64 (a step's argmax, on the current CUDA stream) to
  // host memory. Throws std::logic_error when kSlots copies are already pending.
  void enqueue(const torch::Tensor& ids);
  // Waits for the oldest pending copy (only it) and returns its ids.
  std::vector<int64_t> take_oldest();
  size_t pending() const;
  // Forgets the pending copies (a generation that ended with a step in flight).
  void discard_pending();

 private:
  struct Slots;
  std::unique_ptr<Slots> slots_;
};

}  // namespace lmf::torch_backend
