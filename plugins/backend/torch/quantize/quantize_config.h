// The configuration of a quantization run (`lmforge quantize`, the stage model.quantize):
// which quantizer, which calibration samples, where the quantized model goes.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace lmf::torch_backend {

struct QuantizeConfig {
  std::string quantizer;                                   // component name, e.g. "gptq"
  nlohmann::json quantizer_config = nlohmann::json::object();
  std::string output;                                      // the quantized model's folder
  bool overwrite = false;
  // Calibration: blocks of `seq_length` tokens from packed shards (data prepare's output).
  std::string calibration_shards;
  std::string calibration_split = "train";
  int64_t samples = 128;
  int64_t seq_length = 512;
  int64_t batch = 8;             // samples per forward pass
  // Where blocks calibrate: "" the model's device; another ("cuda") stages one block at a
  // time there (Note [One block on the device], quantize/block_stage.h).
  std::string calibration_device;
  bool true_sequential = true;   // Note [Sequential groups]
  std::vector<std::string> modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

  // Every field checked; errors name it ("quantize: field \"samples\" ...").
  static QuantizeConfig from_json(const nlohmann::json& config);
};

}  // namespace lmf::torch_backend
