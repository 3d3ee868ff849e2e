#include "core/planner/bytes_per_param.h"

#include "core/planner/derivation.h"

namespace lmf::planner {
namespace {

double optimizer_state_bytes(Optimizer optimizer, double full_state_bytes) {
  switch (optimizer) {
    case Optimizer::adamw:
      return 2 * full_state_bytes;
    case Optimizer::adamw8bit:
      return 2 * (1 + 4.0 / 2048);
    case Optimizer::sgd:
      return full_state_bytes;
  }
  return 2 * full_state_bytes;
}

std::string optimizer_state_formula(Optimizer optimizer, double full_state_bytes) {
  switch (optimizer) {
    case Optimizer::adamw:
      return "Adam m + v: 2*" + num(full_state_bytes);
    case Optimizer::adamw8bit:
      return "8-bit Adam m + v: 2*(1 + 4/2048)";
    case Optimizer::sgd:
      return "momentum: " + num(full_state_bytes);
  }
  return "";
}

}  // namespace

WeightBytes weight_bytes(const PlanSettings& s, const ModelSpec& m) {
  WeightBytes bytes;
  // Per-row scales cost (scale bytes)/h per weight; a bare count has no h: they are left out.
  const double per_row = m.has_architecture() ? 1 / static_cast<double>(m.hidden) : 0;
  switch (s.weights) {
    case WeightFormat::fp32:
      bytes = {4, 4, "4 (fp32)"};
      break;
    case WeightFormat::bf16:
    case WeightFormat::fp16:
      bytes = {2, 2, "2 (" + to_string(s.weights) + ")"};
      break;
    case WeightFormat::fp8:
      bytes = {1 + 4.0 / (128 * 128), 2, "1 + 4/(128*128) (fp8, fp32 scale per 128x128 block)"};
      break;
    case WeightFormat::int8:
      if (s.method == Method::qlora)
        bytes = {1 + 4 * per_row, 2, "1 + 4/h (LLM.int8, fp32 scale per row)"};
      else
        bytes = {1 + 2 * per_row, 2, "1 + 2/h (int8, fp16 scale per row)"};
      break;
    case WeightFormat::int4:
      if (s.method == Method::qlora) {
        if (s.double_quant)
          bytes = {0.5 + 1.0 / 64 + 4.0 / (64 * 256), 2,
                   "0.5 + 1/64 + 4/(64*256) (NF4 with double quantization)"};
        else
          bytes = {0.5 + 4.0 / 64, 2, "0.5 + 4/64 (NF4, fp32 absmax per 64)"};
      } else {
        const double g = s.group_size;
        bytes = {
            0.5 + 2.5 / g, 2,
            "0.5 + 2.5/" + num(g) + " (int4, fp16 scale + 4-bit zero per group of " + num(g) + ")"};
      }
      break;
  }
  return bytes;
}

StateBytes state_bytes(const PlanSettings& s) {
  StateBytes bytes;
  if (s.method == Method::lora || s.method == Method::qlora) {
    bytes.weights = 4;
    bytes.gradients = 4;
    bytes.optimizer = optimizer_state_bytes(s.optimizer, 4);
    bytes.optimizer_formula = optimizer_state_formula(s.optimizer, 4) + " (fp32 adapters)";
    return bytes;
  }
  switch (s.precision) {
    case Precision::mixed:
      bytes.weights = 2;
      bytes.gradients = s.fp32_grads ? 4 : 2;
      bytes.optimizer = 4 + optimizer_state_bytes(s.optimizer, 4);
      bytes.optimizer_formula = "fp32 master 4 + " + optimizer_state_formula(s.optimizer, 4);
      break;
    case Precision::bf16:
      bytes.weights = 2;
      bytes.gradients = s.fp32_grads ? 4 : 2;
      bytes.optimizer = optimizer_state_bytes(s.optimizer, 2);
      bytes.optimizer_formula = optimizer_state_formula(s.optimizer, 2) + " (bf16 states)";
      break;
    case Precision::fp32:
      bytes.weights = 4;
      bytes.gradients = 4;
      bytes.optimizer = optimizer_state_bytes(s.optimizer, 4);
      bytes.optimizer_formula = optimizer_state_formula(s.optimizer, 4);
      break;
  }
  return bytes;
}

}  // namespace lmf::planner
