/* lmforge plugin ABI — basic types shared by every header.
 *
 * Note [ABI growth]
 * Every struct that crosses the boundary starts with `uint32_t struct_size`, set by whoever
 * fills the struct to sizeof() of the version it was compiled against. Members are only
 * ever appended, and a reader touches a member only when LMF_HAS_MEMBER says the writer's
 * struct is large enough to hold it. A member that is absent reads as NULL / zero, so every
 * member added in a minor version is optional. See docs/plugin-abi.md.
 *
 * Note [Ownership]
 * - `lmf_str_view`: borrowed; valid for the duration of the call only unless stated.
 * - `lmf_string` and every other buffer a callee returns: allocated with the host's
 *   `alloc`, freed by the caller with the host's `free` (both sides use one allocator).
 * - `lmf_status_t*`: NULL means success; a non-NULL status is a new reference that the
 *   receiver releases with `status_release`. A failed call leaves its outputs untouched.
 */
#ifndef LMF_TYPES_H
#define LMF_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LMF_ABI_MAJOR 1
#define LMF_ABI_MINOR 1

#if defined(_WIN32)
#define LMF_EXPORT __declspec(dllexport)
#else
#define LMF_EXPORT __attribute__((visibility("default")))
#endif

/* True when the struct at `ptr` (of C type `type`, carrying struct_size) holds `member`. */
#define LMF_HAS_MEMBER(ptr, type, member)                                       \
  ((ptr) != NULL && (size_t)(ptr)->struct_size >= offsetof(type, member) + \
                                                      sizeof(((type*)0)->member))

/* Status codes. Values are frozen; new codes are appended. */
typedef int32_t lmf_status_code;
#define LMF_OK 0
#define LMF_ERR_INVALID_ARGUMENT 1 /* the caller passed something wrong (config, shape, value) */
#define LMF_ERR_NOT_FOUND 2        /* file, component, token, key that does not exist */
#define LMF_ERR_UNSUPPORTED 3      /* optional capability this component does not have */
#define LMF_ERR_CANCELLED 4        /* the host's cancellation was observed */
#define LMF_ERR_IO 5               /* reading or writing a file or socket failed */
#define LMF_ERR_DATA 6             /* malformed input data (bad JSON line, corrupt checkpoint) */
#define LMF_ERR_OUT_OF_MEMORY 7
#define LMF_ERR_ABI 8      /* version or struct mismatch between host and plugin */
#define LMF_ERR_INTERNAL 9 /* a bug: an invariant broke or an unexpected exception */

/* Opaque handles. */
typedef struct lmf_status lmf_status_t;     /* an error: code + message, owned as above */
typedef struct lmf_host lmf_host_t;         /* the host's handle for one loaded plugin */
typedef struct lmf_instance lmf_instance_t; /* a component instance, defined by its plugin */
typedef struct lmf_progress lmf_progress_t; /* a progress bar owned by the host */

/* Borrowed UTF-8 text: `data` need not be NUL-terminated. */
typedef struct lmf_str_view {
  const char* data;
  size_t size;
} lmf_str_view;

/* Owned UTF-8 text returned by a callee: host-allocated, NUL-terminated at data[size]. */
typedef struct lmf_string {
  char* data;
  size_t size;
} lmf_string;

/* The six kinds of component. Values are frozen; new kinds are appended. */
typedef int32_t lmf_kind;
#define LMF_KIND_DATA_SOURCE 1
#define LMF_KIND_TOKENIZER 2
#define LMF_KIND_PARALLEL 3
#define LMF_KIND_QUANTIZER 4
#define LMF_KIND_BACKEND 5
#define LMF_KIND_FRONTEND 6

typedef int32_t lmf_log_level;
#define LMF_LOG_DEBUG 0
#define LMF_LOG_INFO 1
#define LMF_LOG_WARNING 2
#define LMF_LOG_ERROR 3

#ifdef __cplusplus
}
#endif

#endif /* LMF_TYPES_H */
