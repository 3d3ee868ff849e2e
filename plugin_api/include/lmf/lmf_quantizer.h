/* lmforge plugin ABI — quantizers: a linear layer's weights (plus calibration statistics)
 * in, a packed low-bit layer out, with the kernels to dequantize it and multiply by it.
 *
 * The model backend drives a quantizer layer by layer: `observe` the inputs a layer sees
 * on calibration samples, then `quantize` its weight. A quantized layer is plugin-owned
 * until `release_layer`; its packed tensors use the layout named in `format_json` so that
 * the backend can save them in the ecosystem's checkpoint formats (GPTQ, AWQ…).
 * Threading: calls on one instance come from one thread at a time, except `matmul` and
 * `dequantize`, which may run concurrently on different layers or streams.
 * Versions: the 1.0 vtable ends at `release_layer`; later members are optional and read
 * only when LMF_HAS_MEMBER says the plugin's vtable holds them.
 */
#ifndef LMF_QUANTIZER_H
#define LMF_QUANTIZER_H

#include <dlpack/dlpack.h>

#include "lmf_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A tensor with a name. Who owns `tensor` is said where the struct is used. */
typedef struct lmf_named_tensor {
  lmf_str_view name;
  DLManagedTensor* tensor;
} lmf_named_tensor;

typedef struct lmf_quantized_layer {
  uint32_t struct_size;  /* since 1.0 */
  int64_t out_features;  /* since 1.0: rows of the original weight [out, in] */
  int64_t in_features;   /* since 1.0 */
  /* since 1.0: the packed tensors (e.g. "qweight", "scales", "qzeros", "g_idx"), owned by
   * the layer: the backend may read them (and copy them) but not keep them past release. */
  size_t tensor_count;
  const lmf_named_tensor* tensors;
  /* since 1.0: the layout as JSON; tells a loader how to read the tensors. Always has
   * "format" (string), "bits" (integer), "group_size" (integer, -1 = per output channel)
   * and "sym" (boolean); a format adds its own fields, e.g.
   * {"format":"gptq","bits":4,"group_size":128,"sym":true,"desc_act":false}. */
  lmf_str_view format_json;
} lmf_quantized_layer;

typedef struct lmf_quantizer_vtable {
  uint32_t struct_size; /* since 1.0 */
  /* since 1.0: what this instance can do, as JSON (host frees):
   *   {"formats":["int8"], "bits":[8], "group_sizes":[-1,128], "symmetric":[true,false],
   *    "needs_calibration":false, "devices":["cpu"], "ops":["dequantize","matmul"]}
   * "ops" lists which of "dequantize", "matmul", "import_layer" work; an op not listed
   * answers LMF_ERR_UNSUPPORTED. `quantize` accepts float32 weights always.
   * The conformance suite (tests/conformance/quantizer) checks every claim. */
  lmf_status_t* (*capabilities)(lmf_instance_t* quantizer, lmf_string* out);
  /* since 1.0, optional: accumulates calibration statistics for `layer` from `inputs`
   * [tokens, in_features] (borrowed; any device the capabilities list). */
  lmf_status_t* (*observe)(lmf_instance_t* quantizer, lmf_str_view layer,
                           const DLTensor* inputs);
  /* since 1.0: quantizes `weight` [out_features, in_features] (borrowed) of `layer`, using
   * what `observe` gathered for it. `*out` is owned by the instance until release_layer. */
  lmf_status_t* (*quantize)(lmf_instance_t* quantizer, lmf_str_view layer,
                            const DLTensor* weight, lmf_quantized_layer** out);
  /* since 1.0, optional: rebuilds a layer from tensors read back from a checkpoint (borrowed; the
   * layer copies what it keeps) and the layout `format_json`. */
  lmf_status_t* (*import_layer)(lmf_instance_t* quantizer, const lmf_named_tensor* tensors,
                                size_t count, lmf_str_view format_json,
                                lmf_quantized_layer** out);
  /* since 1.0: writes the dequantized weight into `weight` [out_features, in_features],
   * caller-allocated, float32 (and other dtypes the capabilities list). */
  lmf_status_t* (*dequantize)(lmf_instance_t* quantizer, const lmf_quantized_layer* layer,
                              DLTensor* weight, void* stream);
  /* since 1.0: y = x · Wᵀ with x [tokens, in_features] and y [tokens, out_features], both
   * borrowed and caller-allocated; `stream` as in lmf_parallel.h. */
  lmf_status_t* (*matmul)(lmf_instance_t* quantizer, const lmf_quantized_layer* layer,
                          const DLTensor* x, DLTensor* y, void* stream);
  /* since 1.0: frees a layer made by quantize or import_layer. */
  void (*release_layer)(lmf_instance_t* quantizer, lmf_quantized_layer* layer);
  /* since 1.1, optional: input scales to fold (docs/plugin-abi.md, "Input scales"; Note
   * [AWQ scale folding] in docs/quantization.md). `count` (>= 1) linear layers `layers[i]`
   * read the same input x [tokens, in] and were each observed on it; `weights[i]`
   * [out_i, in] are their weights as they are now (borrowed, float32, on the CPU or on a
   * device the capabilities list, as observe's inputs). The quantizer chooses scales s [in]
   * (every s[j] finite and > 0) and returns them in `*scales`: a new
   * float32 [in] CPU tensor whose deleter the caller calls. The caller then folds s into the
   * model before it quantizes any of these layers: it multiplies column j of each of their
   * weights (and of any other layer reading x) by s[j] and divides the output channel j of
   * the operation that produces x (a norm's weight, a linear layer's row and bias) by s[j],
   * so that the model computes the same function, and passes each scaled weight to
   * `quantize`, which then treats that layer's observed inputs as x / s. A later call
   * naming the same layer replaces its scales. Listed in the capabilities' "ops" as
   * "search_input_scales" when it works; otherwise it answers LMF_ERR_UNSUPPORTED (as does
   * a NULL or absent slot) and the caller quantizes without scaling. A failed call leaves
   * `*scales` untouched and the layers' scales as they were. */
  lmf_status_t* (*search_input_scales)(lmf_instance_t* quantizer, const lmf_str_view* layers,
                                       const DLTensor* const* weights, size_t count,
                                       DLManagedTensor** scales);
} lmf_quantizer_vtable;

#ifdef __cplusplus
}
#endif

#endif /* LMF_QUANTIZER_H */
