#include "batches.h"

#include <lmf/sdk/error.h>

#include <algorithm>
#include <numeric>
#include <random>

namespace lmf::torch_backend {

ExampleOrder::ExampleOrder(int64_t size, uint64_t seed, bool shuffle)
    : size_(size), seed_(seed), shuffle_(shuffle) {
  if (size_ <= 0) sdk::fail(LMF_ERR_DATA, "train: the dataset has no example");
  shuffle_epoch();
}

// Fisher–Yates with mt19937_64 and our own bounded draw: std::shuffle and the standard
// distributions may differ between standard libraries; this order may not.
void ExampleOrder::shuffle_epoch() {
  order_.resize(size_);
  std::iota(order_.begin(), order_.end(), 0);
  if (!shuffle_) return;
  std::mt19937_64 random(seed_ * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(position_.epoch));
  for (int64_t i = size_ - 1; i > 0; --i) {
    const int64_t j = static_cast<int64_t>(random() % static_cast<uint64_t>(i + 1));
    std::swap(order_[i], order_[j]);
  }
}

std::vector<int64_t> ExampleOrder::take(int64_t count) {
  std::vector<int64_t> indices;
  indices.reserve(count);
  while (static_cast<int64_t>(indices.size()) < count) {
    if (position_.cursor == size_) {
      ++position_.epoch;
      position_.cursor = 0;
      shuffle_epoch();
    }
    indices.push_back(order_[position_.cursor++]);
  }
  return indices;
}

void ExampleOrder::seek(Position position) {
  if (position.epoch < 0 || position.cursor < 0 || position.cursor > size_)
    sdk::fail(LMF_ERR_DATA, "train: a checkpoint's data position (epoch " + std::to_string(position.epoch) +
                                ", example " + std::to_string(position.cursor) + ") does not fit a dataset of " +
                                std::to_string(size_) + " examples");
  position_ = position;
  shuffle_epoch();
}

Batch collate(const ExampleSet& set, const std::vector<int64_t>& indices, int64_t pad_id) {
  std::vector<Example> first, second;  // second: the rejected side of DPO pairs
  for (int64_t index : indices) {
    std::vector<Example> item = set.at(index);
    first.push_back(std::move(item.at(0)));
    if (item.size() > 1) second.push_back(std::move(item[1]));
  }
  Batch batch;
  batch.pairs = static_cast<int64_t>(second.size());
  first.insert(first.end(), std::make_move_iterator(second.begin()), std::make_move_iterator(second.end()));
  size_t longest = 0;
  for (const Example& e : first) longest = std::max(longest, e.ids.size());
  const int64_t rows = static_cast<int64_t>(first.size()), width = static_cast<int64_t>(longest);
  batch.ids = torch::full({rows, width}, pad_id, torch::kInt64);
  batch.labels = torch::full({rows, width}, kIgnore, torch::kInt64);
  auto ids = batch.ids.accessor<int64_t, 2>();
  auto labels = batch.labels.accessor<int64_t, 2>();
  for (int64_t r = 0; r < rows; ++r) {
    const Example& e = first[r];
    for (size_t t = 0; t < e.ids.size(); ++t) {
      ids[r][t] = e.ids[t];
      labels[r][t] = e.labels[t];
      batch.targets += e.labels[t] != kIgnore;
    }
  }
  return batch;
}

}  // namespace lmf::torch_backend
