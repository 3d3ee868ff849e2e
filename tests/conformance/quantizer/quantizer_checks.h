// The quantizer conformance checks, as functions that return what they found wrong, so the
// suite can assert "no failures" for real plugins and "failures" for the liar fixtures.
//
// Every check talks to the quantizer through its C vtable (lmf_quantizer_vtable) with
// tensors made by the host, exactly as a model backend would, and creates the component
// with its default configuration ({} validated against its schema).
#pragma once

#include "core/plugin/registry.h"

#include <string>
#include <vector>

namespace lmf::conformance {

// One sentence per failed check, naming the check, the weights used and expected vs got.
using Failures = std::vector<std::string>;

// capabilities(): a JSON object with the documented fields and types
//   formats [string], bits [int], group_sizes [int], symmetric [bool], needs_calibration
//   bool, devices [string], ops [string] (known ops only: dequantize, matmul, import_layer,
//   search_input_scales).
Failures check_capabilities(const plugin::ComponentRef& quantizer);

// On every weight case (weight_cases()): quantize (after observe when calibration is
// needed), then check the layer (shape, named tensors, the format's tensors, format_json
// within the claims), dequantize within the format's error bound (Note [Error bounds]),
// matmul against x·ŵᵀ and x·Wᵀ, import_layer round trip, and that unclaimed ops answer
// LMF_ERR_UNSUPPORTED; then search_input_scales (Note [Input scale checks]).
Failures check_layers(const plugin::ComponentRef& quantizer);

// Wrong input (rank-1 or int32 weights, mis-shaped outputs and inputs) gives an error
// status with a message, and leaves the outputs untouched.
Failures check_bad_inputs(const plugin::ComponentRef& quantizer);

// All of the above.
Failures check_quantizer(const plugin::ComponentRef& quantizer);

}  // namespace lmf::conformance
