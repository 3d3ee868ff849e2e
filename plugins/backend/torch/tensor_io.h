// libtorch tensors to and from safetensors files, through the checkpoint library
// (checkpoint/, which knows no torch): the dtype mapping, one-file writes (optimizer
// states, adapters, training checkpoints) and model-folder writes.
#pragma once

#include "checkpoint/dtype.h"

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lmf::torch_backend {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Throws (naming `where`) for dtypes torch and safetensors do not share.
torch::ScalarType torch_scalar_type(checkpoint::DType dtype, const std::string& where);
checkpoint::DType safetensors_dtype(torch::ScalarType dtype);

// One safetensors file with the tensors (any device, any layout), replacing `file` only
// once the new one is complete on disk. Throws sdk errors naming the file.
void write_tensor_file(const std::filesystem::path& file, const NamedTensors& tensors);

// A model folder's weight files (model.safetensors, or shards above `max_shard_bytes`
// with an index), as transformers' save_pretrained writes them.
void write_tensor_folder(const std::filesystem::path& folder, const NamedTensors& tensors,
                         uint64_t max_shard_bytes);

// Every tensor of one safetensors file, copied into CPU tensors that own their memory.
std::map<std::string, torch::Tensor> read_tensor_file(const std::filesystem::path& file);

}  // namespace lmf::torch_backend
