// The decode steps of a generation after its prefill: one token per sequence in, fp32
// logits [B, vocab] on the CPU out — or, when every sequence decodes greedily, the argmax
// ids alone (Note [Greedy choice on the device]). Eager on the CPU; on CUDA (when
// allowed) a static step captured as a CUDA graph and replayed (Note [Static decode
// step]), and kept for the next generation of the same shape (Note [Reused decode graphs]).
#pragma once

#include "chosen_readback.h"
#include "decoder.h"
#include "kv_cache.h"
#include "torch_compat.h"

#include <torch/torch.h>

#include <list>
#include <memory>
#include <vector>

namespace lmf::torch_backend {

class DecodeStepper {
 public:
  // A stepper with its own KV cache for `batch` sequences of up to `capacity` positions.
  // `greedy`: steps choose the argmax on the device and step() returns no logits.
  DecodeStepper(Decoder& decoder, int64_t batch, int64_t capacity, bool use_graph, bool greedy);

  // The cache the prefill fills (empty after begin_prefill()).
  KvCache& cache() { return cache_; }
  void begin_prefill() { cache_.reset(); }
  // After the prefill: `positions` [B,1] the positions of the prompts' last tokens;
  // `key_valid` [B, ≤ capacity] bool, false at left-padding slots; `padded`: whether any
  // row has padding.
  void begin_decode(const torch::Tensor& positions, const torch::Tensor& key_valid, bool padded);

  // Feeds one token per sequence; returns the next logits [B, vocab] (fp32, CPU), or
  // with `greedy` an undefined tensor (the choice is in `chosen`).
  torch::Tensor step(const std::vector<int64_t>& tokens);
  // With `greedy`: each sequence's argmax after the last step, the first of equal maxima
  // (as torch.argmax and TokenSampler choose).
  const std::vector<int64_t>& chosen() const { return chosen_; }

  // Note [Steps in flight]: greedy steps replayed from a graph can be launched before the
  // host has read the step before. launch() queues a step fed with `tokens`, or (null) with
  // the previous step's argmax, which the graph leaves in its input; take_chosen() waits
  // for the oldest launched step only and returns its choices (as chosen()).
  bool runs_ahead() const { return use_graph_ && greedy_; }
  void launch(const std::vector<int64_t>* tokens);
  const std::vector<int64_t>& take_chosen();
  size_t steps_in_flight() const { return readback_ ? readback_->pending() : 0; }

  bool uses_graph() const { return use_graph_; }
  bool greedy() const { return greedy_; }
  int64_t batch() const { return batch_; }

 private:
  void static_step();  // what the graph records: reads ids_, writes logits_ (or argmax_ and ids_)
  void run_graph();    // replays the step, capturing it first when needed
  torch::Tensor finish(const torch::Tensor& logits);  // logits [B,V] on the device
  void read_chosen(const torch::Tensor& ids);          // device ids [B] -> chosen_

  Decoder& decoder_;
  int64_t batch_;
  KvCache cache_;
  torch::Tensor positions_, key_valid_, ids_, slot_, logits_, argmax_;
  std::vector<int64_t> chosen_;
  bool padded_ = false;
  bool use_graph_;
  bool greedy_;
  bool captured_ = false;
  int64_t captured_epoch_ = -1;  // the decoder's graph_epoch() at capture
  compat::StepGraph graph_;
  std::unique_ptr<ChosenReadback> readback_;  // runs_ahead() steppers
};

// Note [Steps in flight]
// Between two greedy steps replayed from a graph the GPU waits for the host: the token
// read back, the stop checks and callbacks, the next launch — ~60 µs of Qwen2-1.5B's
// 1.5 ms step on an H100. The greedy graph therefore also writes its argmax into its own
// input ids, and generate() launches step k+1 before it reads step k's choices (when some
// sequence will still need a token after step k's): each launch queues a copy of its
// argmax to pinned host memory with an event, and the host waits on the oldest event only,
// so it checks step k while the GPU runs step k+1. A finished row is fed its argmax rather
// than its last token (its outputs are never read either way); a sequence that stops on
// step k's token (end of text, a stop string, a callback) has had one step computed in vain.

// Note [Reused decode graphs]
// Capturing a decode step costs about two eager steps (a warm-up run, then the recording)
// — tens of milliseconds, paid by every generation if each made its own graph. The
// decoder keeps its last few steppers with their caches and graphs, keyed by batch size,
// capacity (rounded up to a multiple of kCapacityStep, so that nearby lengths share one)
// and greedy choice; a generation of the same shape only replays. A stepper recaptures
// when the decoder's graph_epoch() has moved (adapters attached, kernels switched, the
// RoPE table grown). Without graphs each generation gets a fresh stepper.
class DecodeStepperPool {
 public:
  static constexpr int64_t kCapacityStep = 64;
  static constexpr size_t kKept = 4;

  // A stepper for `batch` sequences of up to `capacity` positions, its cache emptied.
  DecodeStepper& acquire(Decoder& decoder, int64_t batch, int64_t capacity, bool use_graph, bool greedy);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    int64_t capacity;
    std::unique_ptr<DecodeStepper> stepper;
  };
  std::list<Entry> entries_;  // most recently used first
};

}  // namespace lmf::torch_backend
