/* lmforge plugin ABI — serving frontends: talk to clients (e.g. OpenAI-compatible HTTP
 * with streaming) and drive a backend's generation through its vtable.
 */
#ifndef LMF_FRONTEND_H
#define LMF_FRONTEND_H

#include "lmf_backend.h"
#include "lmf_tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a frontend serves: instances made by the host, borrowed for the whole serve call. */
typedef struct lmf_serve_target {
  uint32_t struct_size;                  /* since 1.0 */
  const lmf_backend_vtable* backend;     /* since 1.0 */
  lmf_instance_t* backend_instance;      /* since 1.0 */
  const lmf_tokenizer_vtable* tokenizer; /* since 1.0 */
  lmf_instance_t* tokenizer_instance;    /* since 1.0 */
  lmf_str_view model_name;               /* since 1.0: the name clients ask for */
} lmf_serve_target;

typedef struct lmf_frontend_vtable {
  uint32_t struct_size; /* since 1.0 */
  /* since 1.0: serves until `stop` is called or the host's cancellation is set; returns
   * after every connection was closed. Called on one thread. */
  lmf_status_t* (*serve)(lmf_instance_t* frontend, const lmf_serve_target* target);
  /* since 1.0: asks a running serve to return; any thread, any time, idempotent. */
  void (*stop)(lmf_instance_t* frontend);
} lmf_frontend_vtable;

#ifdef __cplusplus
}
#endif

#endif /* LMF_FRONTEND_H */
