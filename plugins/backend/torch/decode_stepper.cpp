#include "decode_stepper.h"

#include <algorithm>
#include <stdexcept>

namespace lmf::torch_backend {

// Note [Greedy choice on the device]
// A sampled step needs every logit on the host (B × vocab fp32: 19 MB a step for 32
// sequences of Qwen2's 152K vocabulary). A greedy step needs only the argmax: computed
// where the logits are, inside the captured graph, only B ids cross to the host.

DecodeStepper::DecodeStepper(Decoder& decoder, int64_t batch, int64_t capacity, bool use_graph, bool greedy)
    : decoder_(decoder),
      batch_(batch),
      cache_(decoder.config(), batch, capacity, torch::TensorOptions().dtype(decoder.dtype()).device(decoder.device())),
      use_graph_(use_graph && compat::StepGraph::available() && decoder.device().is_cuda()),
      greedy_(greedy) {
  const auto ids_options = torch::TensorOptions().dtype(torch::kInt64).device(decoder.device());
  ids_ = torch::zeros({batch, 1}, ids_options);
  if (use_graph_) {
    // Static buffers the graph reads and writes in place; begin_decode() refills them.
    positions_ = torch::zeros({batch, 1}, ids_options);
    key_valid_ = torch::zeros({batch, capacity}, ids_options.dtype(torch::kBool));
    slot_ = torch::zeros({1}, ids_options);
    if (greedy_) {
      argmax_ = torch::empty({batch}, ids_options);
      readback_ = std::make_unique<ChosenReadback>(batch);
    }
    else
      logits_ = torch::empty({batch, decoder.config().vocab_size},
                             torch::TensorOptions().dtype(torch::kFloat32).device(decoder.device()));
  }
}

void DecodeStepper::begin_decode(const torch::Tensor& positions, const torch::Tensor& key_valid, bool padded) {
  padded_ = padded;
  if (readback_) readback_->discard_pending();  // a step the last generation ran ahead
  if (!use_graph_) {
    positions_ = positions;
    key_valid_ = key_valid;
    return;
  }
  positions_.copy_(positions);
  // Slots past the prefill are not valid until a step writes them.
  const int64_t length = cache_.length(), given = key_valid.size(1);
  key_valid_.narrow(1, 0, given).copy_(key_valid);
  key_valid_.narrow(1, length, cache_.capacity() - length).fill_(false);
  slot_.fill_(length);
}

void DecodeStepper::static_step() {
  positions_.add_(1);
  key_valid_.index_fill_(1, slot_, true);
  ForwardContext context{positions_, key_valid_, &cache_, cache_.capacity(), slot_};
  torch::Tensor hidden = decoder_.hidden_states(ids_, context);
  torch::Tensor logits = decoder_.logits(hidden.select(1, -1));
  if (greedy_) {
    argmax_.copy_(logits.argmax(-1));
    ids_.copy_(argmax_.view({batch_, 1}));  // the next step's input (Note [Steps in flight])
  } else
    logits_.copy_(logits);
  slot_.add_(1);
}

torch::Tensor DecodeStepper::finish(const torch::Tensor& logits) {
  if (!greedy_) return logits.to(torch::kCPU).contiguous();
  read_chosen(logits.argmax(-1));
  return {};
}

void DecodeStepper::read_chosen(const torch::Tensor& ids) {
  const torch::Tensor host = ids.to(torch::kCPU);
  chosen_.assign(host.data_ptr<int64_t>(), host.data_ptr<int64_t>() + host.numel());
}

void DecodeStepper::run_graph() {
  if (!captured_ || captured_epoch_ != decoder_.graph_epoch()) {
    decoder_.reserve_positions(cache_.capacity());  // the table must not grow during capture
    graph_.warm_up_and_capture([this] { static_step(); });
    captured_ = true;
    captured_epoch_ = decoder_.graph_epoch();
  } else {
    graph_.replay();
  }
}

void DecodeStepper::launch(const std::vector<int64_t>* tokens) {
  if (!runs_ahead()) throw std::logic_error("DecodeStepper::launch: only greedy steps replayed from a graph run ahead");
  if (tokens != nullptr) ids_.copy_(torch::tensor(*tokens, torch::kInt64).view({batch_, 1}));
  run_graph();
  readback_->enqueue(argmax_);
}

const std::vector<int64_t>& DecodeStepper::take_chosen() {
  chosen_ = readback_->take_oldest();
  return chosen_;
}

torch::Tensor DecodeStepper::step(const std::vector<int64_t>& tokens) {
  if (readback_) readback_->discard_pending();  // choices of steps run ahead, not wanted now
  torch::Tensor host_ids = torch::tensor(tokens, torch::kInt64).view({batch_, 1});
  if (use_graph_) {
    ids_.copy_(host_ids);
    run_graph();
    if (!greedy_) return logits_.to(torch::kCPU);
    read_chosen(argmax_);
    return {};
  }
  positions_ = positions_ + 1;
  const int64_t keys = cache_.length() + 1;
  ForwardContext context{positions_, padded_ ? key_valid_.narrow(1, 0, keys) : torch::Tensor(), &cache_,
                         cache_.capacity(), {}};
  torch::Tensor hidden = decoder_.hidden_states(host_ids.to(decoder_.device()), context);
  return finish(decoder_.logits(hidden.select(1, -1)));
}

DecodeStepper& DecodeStepperPool::acquire(Decoder& decoder, int64_t batch, int64_t capacity, bool use_graph,
                                          bool greedy) {
  const int64_t rounded = (capacity + kCapacityStep - 1) / kCapacityStep * kCapacityStep;
  auto found = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return e.capacity == rounded && e.stepper->batch() == batch && e.stepper->greedy() == greedy &&
           e.stepper->uses_graph() == use_graph;
  });
  if (found != entries_.end()) {
    entries_.splice(entries_.begin(), entries_, found);
  } else {
    if (entries_.size() >= kKept) entries_.pop_back();  // its cache is freed before the new one is made
    entries_.push_front({rounded, std::make_unique<DecodeStepper>(decoder, batch, rounded, use_graph, greedy)});
  }
  DecodeStepper& stepper = *entries_.front().stepper;
  stepper.begin_prefill();
  return stepper;
}

}  // namespace lmf::torch_backend
