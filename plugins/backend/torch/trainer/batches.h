// The order examples are visited in (a seeded permutation per epoch, whose position a
// checkpoint saves) and their collation into padded micro-batches.
#pragma once

#include "training_examples.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace lmf::torch_backend {

class ExampleOrder {
 public:
  struct Position {
    int64_t epoch = 0;
    int64_t cursor = 0;  // examples of this epoch already taken
  };

  // `size` examples, shuffled per epoch from `seed` (the same on every machine).
  ExampleOrder(int64_t size, uint64_t seed, bool shuffle = true);

  // The next `count` example indices; an epoch that runs out continues in the next.
  std::vector<int64_t> take(int64_t count);
  Position position() const { return position_; }
  void seek(Position position);
  // Examples taken so far, over all epochs.
  int64_t taken() const { return position_.epoch * size_ + position_.cursor; }

 private:
  void shuffle_epoch();

  int64_t size_;
  uint64_t seed_;
  bool shuffle_;
  Position position_;
  std::vector<int64_t> order_;  // this epoch's permutation
};

struct Batch {
  torch::Tensor ids;     // [rows, T] int64, right-padded
  torch::Tensor labels;  // [rows, T] int64, kIgnore at padding and untrained positions
  int64_t targets = 0;   // labels that are not kIgnore
  // DPO: rows [0, pairs) are the chosen and [pairs, 2·pairs) the rejected sequences.
  int64_t pairs = 0;
};

// The examples at `indices`, right-padded with `pad_id` to the longest (padding comes
// after every real token, so causal attention never lets a real token see it).
Batch collate(const ExampleSet& set, const std::vector<int64_t>& indices, int64_t pad_id);

}  // namespace lmf::torch_backend
