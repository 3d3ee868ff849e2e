/* lmforge plugin ABI — model backends: load and save checkpoints, forward, generate,
 * train, evaluate, and drive quantizers.
 *
 * Calls are coarse: a whole training run or evaluation is one call that reports through
 * the host's progress, metrics and cancellation services.
 * Threading: `generate` and `info` may be called from several threads at once (a backend
 * may batch concurrent requests together); every other call excludes all others.
 */
#ifndef LMF_BACKEND_H
#define LMF_BACKEND_H

#include <dlpack/dlpack.h>

#include "lmf_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t lmf_finish_reason;
#define LMF_FINISH_LENGTH 0    /* max_new_tokens reached */
#define LMF_FINISH_STOP 1      /* a stop id or stop string */
#define LMF_FINISH_CANCELLED 2 /* the callback or the host asked to stop */

/* Called for each generated token, on the backend's thread; returns nonzero to stop. */
typedef int32_t (*lmf_token_callback)(void* user, int32_t token_id);

typedef struct lmf_generate_request {
  uint32_t struct_size;      /* since 1.0 */
  const int32_t* prompt_ids; /* since 1.0: borrowed for the call */
  size_t prompt_count;       /* since 1.0 */
  /* since 1.0: sampling as JSON: {"max_new_tokens":…, "temperature":…, "top_k":…,
   * "top_p":…, "min_p":…, "repetition_penalty":…, "stop_ids":[…], "seed":…}. */
  lmf_str_view sampling_json;
  lmf_token_callback on_token; /* since 1.0, optional: streaming */
  void* user;                  /* since 1.0: passed to on_token */
} lmf_generate_request;

typedef struct lmf_generate_result {
  uint32_t struct_size; /* since 1.0: set by the caller */
  int32_t* ids;         /* since 1.0: generated ids, host-allocated, caller frees */
  size_t count;         /* since 1.0 */
  lmf_finish_reason finish_reason; /* since 1.0 */
} lmf_generate_result;

typedef struct lmf_backend_vtable {
  uint32_t struct_size; /* since 1.0 */
  /* since 1.0: loads a model folder (Hugging Face layout: config.json, *.safetensors…). */
  lmf_status_t* (*load)(lmf_instance_t* backend, lmf_str_view path, lmf_str_view options_json);
  /* since 1.0, optional: writes the model in Hugging Face layout; writes to a temporary name and
   * renames, so that a failure leaves no partial checkpoint. */
  lmf_status_t* (*save)(lmf_instance_t* backend, lmf_str_view path, lmf_str_view options_json);
  /* since 1.0: the loaded model as JSON (architecture, sizes, dtype, device). */
  lmf_status_t* (*info)(lmf_instance_t* backend, lmf_string* out);
  /* since 1.0, optional: logits [batch, seq, vocab] for `input_ids` [batch, seq] (int64 or int32,
   * borrowed). `*out` is a new tensor owned by the caller (call its deleter). */
  lmf_status_t* (*forward)(lmf_instance_t* backend, const DLTensor* input_ids,
                           DLManagedTensor** out);
  /* since 1.0, optional: generates a continuation of one prompt; blocks until it ends. */
  lmf_status_t* (*generate)(lmf_instance_t* backend, const lmf_generate_request* request,
                            lmf_generate_result* out);
  /* since 1.0, optional: a training run described by `config_json` (method, data, optimizer,
   * checkpoints); returns a JSON summary (host frees). */
  lmf_status_t* (*train)(lmf_instance_t* backend, lmf_str_view config_json, lmf_string* out);
  /* since 1.0, optional: an evaluation (perplexity, log-likelihood scoring); JSON summary. */
  lmf_status_t* (*evaluate)(lmf_instance_t* backend, lmf_str_view config_json,
                            lmf_string* out);
  /* since 1.0, optional: calibrates and quantizes the loaded model with the quantizer
   * component named in `config_json` (found through the host's find_component). */
  lmf_status_t* (*quantize)(lmf_instance_t* backend, lmf_str_view config_json,
                            lmf_string* out);
} lmf_backend_vtable;

#ifdef __cplusplus
}
#endif

#endif /* LMF_BACKEND_H */
