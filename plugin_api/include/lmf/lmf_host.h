/* lmforge plugin ABI — the host's API table, handed to every plugin at load time.
 *
 * The table only grows at its end (Note [ABI growth] in lmf_types.h); a plugin built
 * against an older minor version sees a prefix of it. Every function here may be called
 * from any thread at any time while the plugin is loaded, unless stated otherwise.
 */
#ifndef LMF_HOST_H
#define LMF_HOST_H

#include <dlpack/dlpack.h>

#include "lmf_types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lmf_component;

typedef struct lmf_host_api {
  uint32_t struct_size; /* since 1.0 */
  uint16_t abi_major;   /* since 1.0: the host's ABI version */
  uint16_t abi_minor;   /* since 1.0 */

  /* --- status objects (since 1.0) --------------------------------------------------- */
  /* A new status with a copy of `message`; never returns NULL (out of memory yields a
   * preallocated status). Ownership goes to the caller, who returns it from a call or
   * releases it. */
  lmf_status_t* (*status_create)(lmf_status_code code, lmf_str_view message);
  /* Borrowed reads; `status` must not be NULL. The message stays valid until release. */
  lmf_status_code (*status_code)(const lmf_status_t* status);
  const char* (*status_message)(const lmf_status_t* status);
  /* Releases a status; NULL is accepted and ignored. */
  void (*status_release)(lmf_status_t* status);

  /* --- memory (since 1.0) ----------------------------------------------------------- */
  /* Every buffer that crosses the boundary with its ownership is allocated here and freed
   * with `free`, whichever side frees it. `alignment` is a power of two (0 means 16).
   * Returns NULL when out of memory. */
  void* (*alloc)(size_t size, size_t alignment);
  void (*free)(void* ptr);
  /* A contiguous CPU tensor, zero-filled, whose deleter is host code: it may be handed to
   * any component and outlive the plugin that asked for it. LMF_ERR_INVALID_ARGUMENT for a
   * negative extent. */
  lmf_status_t* (*tensor_alloc)(DLDataType dtype, int32_t ndim, const int64_t* shape,
                                DLManagedTensor** out);

  /* --- logging and metrics (since 1.0) ---------------------------------------------- */
  /* `host` is the handle the plugin received at load; the host prefixes the plugin name. */
  void (*log)(lmf_host_t* host, lmf_log_level level, lmf_str_view message);
  /* A scalar metric (e.g. "train/loss") at a step; written to the run's metrics sinks. */
  void (*metric)(lmf_host_t* host, lmf_str_view name, double value, int64_t step);

  /* --- progress (since 1.0) --------------------------------------------------------- */
  /* Starts a progress report; `total` < 0 when unknown; `unit` e.g. "records".
   * The returned handle belongs to the host; the plugin must call progress_end exactly
   * once. Advance and end may be called from any thread. */
  lmf_progress_t* (*progress_begin)(lmf_host_t* host, lmf_str_view label, int64_t total,
                                    lmf_str_view unit);
  void (*progress_advance)(lmf_progress_t* progress, int64_t delta);
  void (*progress_end)(lmf_progress_t* progress);

  /* --- cancellation (since 1.0) ----------------------------------------------------- */
  /* Nonzero once the user asked to stop (Ctrl-C, a frontend's stop). Long work polls this
   * between coarse steps and returns LMF_ERR_CANCELLED, leaving files consistent. */
  int32_t (*is_cancelled)(lmf_host_t* host);

  /* --- configuration (since 1.0) ---------------------------------------------------- */
  /* The value at `json_pointer` (RFC 6901, "" = whole document) of the composed pipeline
   * configuration, serialized as JSON into `*out` (host-allocated; caller frees).
   * LMF_ERR_NOT_FOUND when the pointer names nothing. */
  lmf_status_t* (*config_get)(lmf_host_t* host, lmf_str_view json_pointer, lmf_string* out);

  /* --- other components (since 1.0) ------------------------------------------------- */
  /* Finds a loaded component by kind and name. `*out` is borrowed and stays valid while
   * the calling plugin is loaded: the host keeps the providing plugin loaded as long.
   * LMF_ERR_NOT_FOUND names the kind and the name. */
  lmf_status_t* (*find_component)(lmf_host_t* host, lmf_kind kind, lmf_str_view name,
                                  const struct lmf_component** out);
} lmf_host_api;

#ifdef __cplusplus
}
#endif

#endif /* LMF_HOST_H */
