#include "decode_stepper.h"

namespace lmf::torch_backend {

DecodeStepper::DecodeStepper(Decoder& decoder, KvCache& cache, torch::Tensor positions,
                             torch::Tensor key_valid, bool padded, bool use_graph)
    : decoder_(decoder),
      cache_(cache),
      positions_(std::move(positions)),
      key_valid_(std::move(key_valid)),
      padded_(padded),
      use_graph_(use_graph && compat::StepGraph::available() && decoder.device().is_cuda()) {
  const auto ids_options = torch::TensorOptions().dtype(torch::kInt64).device(decoder.device());
  ids_ = torch::zeros({positions_.size(0), 1}, ids_options);
  if (use_graph_) {
    // Static buffers the graph reads and writes in place; slots past the prefill are not
    // valid until a step writes them.
    slot_ = torch::full({1}, cache_.length(), ids_options);
    key_valid_.narrow(1, cache_.length(), cache_.capacity() - cache_.length()).fill_(false);
    logits_ = torch::empty({positions_.size(0), decoder.config().vocab_size},
                           torch::TensorOptions().dtype(torch::kFloat32).device(decoder.device()));
    decoder_.reserve_positions(cache_.capacity());
  }
}

void DecodeStepper::static_step() {
  positions_.add_(1);
  key_valid_.index_fill_(1, slot_, true);
  ForwardContext context{positions_, key_valid_, &cache_, cache_.capacity(), slot_};
  torch::Tensor hidden = decoder_.hidden_states(ids_, context);
  logits_.copy_(decoder_.logits(hidden.select(1, -1)));
  slot_.add_(1);
}

torch::Tensor DecodeStepper::step(const std::vector<int64_t>& tokens) {
  const int64_t batch = static_cast<int64_t>(tokens.size());
  torch::Tensor host_ids = torch::tensor(tokens, torch::kInt64).view({batch, 1});
  if (use_graph_) {
    ids_.copy_(host_ids);
    if (!captured_) {
      graph_.warm_up_and_capture([this] { static_step(); });
      captured_ = true;
    } else {
      graph_.replay();
    }
    return logits_.to(torch::kCPU);
  }
  positions_ = positions_ + 1;
  const int64_t keys = cache_.length() + 1;
  ForwardContext context{positions_, padded_ ? key_valid_.narrow(1, 0, keys) : torch::Tensor(), &cache_,
                         cache_.capacity(), {}};
  torch::Tensor hidden = decoder_.hidden_states(host_ids.to(decoder_.device()), context);
  return decoder_.logits(hidden.select(1, -1)).to(torch::kCPU).contiguous();
}

}  // namespace lmf::torch_backend
