#include "awq_layer_inputs.h"

#include "awq_checks.h"

#include <lmf/sdk/error.h>

namespace lmf::quant::awq {

using lmf::sdk::fail;

void LayerInputs::add(std::string_view layer, const torch::Tensor& inputs) {
  expect_matrix(inputs, layer, "calibration inputs");
  expect_finite(inputs, layer, "calibration inputs");
  auto found = inputs_.find(layer);
  if (found != inputs_.end() && found->second.chunks.front().size(1) != inputs.size(1))
    fail(LMF_ERR_INVALID_ARGUMENT, layer_label(layer) + ": calibration inputs have in_features " +
                                       std::to_string(inputs.size(1)) + ", earlier calls had " +
                                       std::to_string(found->second.chunks.front().size(1)));
  torch::Tensor copy = inputs.to(torch::kFloat32).contiguous().clone();
  if (found == inputs_.end()) found = inputs_.emplace(std::string(layer), Entry{}).first;
  found->second.chunks.push_back(std::move(copy));
}

const LayerInputs::Entry& LayerInputs::entry(std::string_view layer) const {
  auto found = inputs_.find(layer);
  if (found == inputs_.end())
    fail(LMF_ERR_INVALID_ARGUMENT,
         layer_label(layer) + ": no calibration inputs: call observe first");
  return found->second;
}

torch::Tensor LayerInputs::raw(std::string_view layer) const {
  const Entry& e = entry(layer);
  return e.chunks.size() == 1 ? e.chunks.front() : torch::cat(e.chunks, 0);
}

torch::Tensor LayerInputs::scaled(std::string_view layer) const {
  const Entry& e = entry(layer);
  const torch::Tensor x = raw(layer);
  return e.scales.defined() ? x / e.scales.to(x.device()).reshape({1, -1}) : x;
}

void LayerInputs::set_scales(std::string_view layer, const torch::Tensor& scales) {
  auto found = inputs_.find(layer);
  if (found == inputs_.end())
    fail(LMF_ERR_INVALID_ARGUMENT,
         layer_label(layer) + ": no calibration inputs: call observe first");
  const int64_t in = found->second.chunks.front().size(1);
  if (scales.dim() != 1 || scales.size(0) != in)
    fail(LMF_ERR_INVALID_ARGUMENT, layer_label(layer) + ": scales of " +
                                       std::to_string(scales.numel()) + " channels for " +
                                       std::to_string(in) + " input features");
  found->second.scales = scales.to(torch::kFloat32).clone();
}

void LayerInputs::erase(std::string_view layer) {
  if (auto found = inputs_.find(layer); found != inputs_.end()) inputs_.erase(found);
}

}  // namespace lmf::quant::awq
