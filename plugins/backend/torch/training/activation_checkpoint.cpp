#include "training/activation_checkpoint.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>

#include <mutex>
#include <optional>

namespace lmf::torch_backend {
namespace {

using Block = std::function<torch::Tensor(const torch::Tensor&)>;

// The states of the generators a block on `device` draws from: the CPU's, and the
// device's own when it is not the CPU.
class RngSnapshot {
 public:
  explicit RngSnapshot(const torch::Device& device) {
    cpu_ = state_of(generator(torch::kCPU));
    if (!device.is_cpu()) {
      device_ = device;
      device_state_ = state_of(generator(device));
    }
  }
  void restore() const {
    set(generator(torch::kCPU), cpu_);
    if (device_) set(generator(*device_), device_state_);
  }

 private:
  static at::Generator generator(const torch::Device& device) {
    return at::globalContext().defaultGenerator(device);
  }
  static torch::Tensor state_of(at::Generator generator) {
    std::lock_guard<std::mutex> lock(generator.mutex());
    return generator.get_state();
  }
  static void set(at::Generator generator, const torch::Tensor& state) {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state);
  }

  torch::Tensor cpu_;
  std::optional<torch::Device> device_;
  torch::Tensor device_state_;
};

// Sets the generators to `recorded` for its lifetime, then back to where they were.
class RngFork {
 public:
  RngFork(const RngSnapshot& recorded, const torch::Device& device) : current_(device) {
    recorded.restore();
  }
  ~RngFork() { current_.restore(); }
  RngFork(const RngFork&) = delete;
  RngFork& operator=(const RngFork&) = delete;

 private:
  RngSnapshot current_;
};

// The backward node of a checkpointed block: Note [Checkpointed blocks].
class CheckpointBackward : public torch::autograd::Node {
 public:
  CheckpointBackward(Block block, torch::Tensor input, RngSnapshot rng)
      : block_(std::move(block)),
        input_(std::move(input)),
        input_version_(input_._version()),
        rng_(std::move(rng)) {}

  torch::autograd::variable_list apply(torch::autograd::variable_list&& grads) override {
    if (!grads[0].defined() || !block_) return {torch::Tensor()};
    // As autograd's saved tensors: recomputing from a changed input would be silently wrong.
    TORCH_CHECK(input_._version() == input_version_,
                "the input of a checkpointed block was modified in place before the backward pass");
    const bool input_needs_grad = input_.requires_grad();
    torch::Tensor x = input_.detach().requires_grad_(input_needs_grad);
    torch::Tensor output;
    {
      RngFork fork(rng_, x.device());
      torch::AutoGradMode grad_mode(true);
      output = block_(x);
    }
    if (output.requires_grad()) torch::autograd::backward({output}, {grads[0]});
    return {input_needs_grad ? x.grad() : torch::Tensor()};
  }

  std::string name() const override { return "lmf::CheckpointBackward"; }

  // What the block captures (weights, masks) is let go with the graph.
  void release_variables() override {
    block_ = nullptr;
    input_.reset();
  }

 private:
  Block block_;
  torch::Tensor input_;
  int64_t input_version_;
  RngSnapshot rng_;
};

}  // namespace

torch::Tensor checkpointed(const Block& block, const torch::Tensor& input) {
  if (!torch::GradMode::is_enabled()) return block(input);
  RngSnapshot rng(input.device());
  torch::Tensor output;
  {
    torch::NoGradGuard no_grad;
    output = block(input);
    // The graph edge goes on a tensor of our own, never on one the block handed through.
    if (output.is_same(input) || output.requires_grad() || output.is_view())
      output = output.clone();
  }
  std::shared_ptr<CheckpointBackward> node(new CheckpointBackward(block, input, std::move(rng)),
                                           torch::autograd::deleteNode);
  node->set_next_edges(torch::autograd::collect_next_edges(input));
  torch::autograd::set_history(output, node);
  return output;
}

}  // namespace lmf::torch_backend
