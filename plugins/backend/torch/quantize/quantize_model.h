// Quantizing a loaded model with a quantizer plugin, layer by layer on calibration
// samples, into a folder that lmforge (and, for the GPTQ layout, transformers and vLLM)
// loads.
#pragma once

#include "loaded_model.h"
#include "quantize/quantize_config.h"

#include <nlohmann/json.hpp>

namespace lmf::torch_backend {

// Note [Layer by layer]: the calibration samples' hidden states go through the decoder one
// block at a time. Each block's projections are observed (their inputs handed to the
// quantizer) and quantized in sequential groups (Note [Sequential groups]); the block's
// weights are then replaced by their dequantized values and the block is run again, so the
// next block calibrates on what the quantized model computes, as GPTQ's reference does.
//
// Note [Sequential groups]: with true_sequential, a block's projections are quantized in
// the order the data reaches them — q/k/v, then o, then gate/up, then down — each group
// observed after the previous groups were quantized (AutoGPTQ's true_sequential). Without
// it, all seven are observed on the unquantized block at once. A quantizer that chooses
// input scales (AWQ) is always driven so: Note [AWQ scale folding] in docs/quantization.md.
//
// `model` must have separate (unfused) projections; its weights end up dequantized.
// Returns a summary: the quantizer, the format, per-module relative weight errors (of the
// weight as quantized: after any folded scales), the number of folded input scales, the
// output folder.
nlohmann::json quantize_model(LoadedModel& model, const QuantizeConfig& config);

}  // namespace lmf::torch_backend
