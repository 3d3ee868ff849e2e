/* lmforge plugin ABI — the plugin descriptor, its components, and the one entry point.
 *
 * A plugin is a shared object exporting exactly one C symbol, `lmf_plugin_entry`:
 *
 *   LMF_EXPORT const lmf_plugin* lmf_plugin_entry(const lmf_host_api* api, lmf_host_t* host);
 *
 * The host calls it once, right after loading, on the host's main thread. It returns a
 * descriptor of static storage (owned by the plugin, valid until unload) or NULL when the
 * plugin cannot work with this host (it should log why through `api->log` first).
 * `api` and `host` stay valid until the plugin is unloaded; the plugin keeps them.
 */
#ifndef LMF_PLUGIN_H
#define LMF_PLUGIN_H

#include "lmf_host.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One component: something of one kind, with a name, a config schema and operations. */
typedef struct lmf_component {
  uint32_t struct_size; /* since 1.0 */
  lmf_kind kind;        /* since 1.0 */
  /* since 1.0: unique per kind among all loaded plugins, e.g. "gptq"; [a-z0-9_.-]+. */
  const char* name;
  const char* description; /* since 1.0, optional (NULL) */
  /* since 1.0: JSON Schema (draft 2020-12 subset, docs/plugin-abi.md) of the config object
   * that `create` takes; the host validates every config against it before any work. */
  const char* config_schema;

  /* since 1.0: makes an instance from a config already validated against the schema, with
   * defaults filled in. On success `*out` is owned by the host until `destroy`. May be
   * called from several threads at once (each call makes an independent instance). */
  lmf_status_t* (*create)(lmf_host_t* host, lmf_str_view config_json, lmf_instance_t** out);
  /* since 1.0: frees an instance; called once, after every other call on it returned. */
  void (*destroy)(lmf_instance_t* instance);

  /* since 1.0: the kind's operation table: a `const lmf_<kind>_vtable*` (lmf_<kind>.h),
   * which starts with its own struct_size. */
  const void* vtable;

  /* since 1.0, optional: runs the component as a pipeline stage (`lmforge run`).
   * `stage_json` is the stage's object from the pipeline file; a summary of what was done
   * (counts, paths, metrics) is returned in `*summary` as a JSON object (host frees). */
  lmf_status_t* (*run_stage)(lmf_instance_t* instance, lmf_str_view stage_json,
                             lmf_string* summary);
} lmf_component;

/* What a plugin library provides. */
typedef struct lmf_plugin {
  uint32_t struct_size; /* since 1.0 */
  uint16_t abi_major;   /* since 1.0: LMF_ABI_MAJOR the plugin was built with */
  uint16_t abi_minor;   /* since 1.0: LMF_ABI_MINOR the plugin was built with */
  const char* name;     /* since 1.0: e.g. "lmforge-quant-rtn" */
  const char* version;  /* since 1.0: the plugin's own version, e.g. "0.1.0" */
  const char* vendor;   /* since 1.0 */
  const char* description; /* since 1.0, optional */
  size_t component_count;  /* since 1.0 */
  /* since 1.0: `component_count` pointers (pointers, so that lmf_component can grow). */
  const lmf_component* const* components;

  /* since 1.0, optional: called once after the host accepted the descriptor and before any
   * component is used; an error status makes the host refuse the plugin (and unload it). */
  lmf_status_t* (*init)(lmf_host_t* host);
  /* since 1.0, optional: called once before unload, after every instance was destroyed. */
  void (*shutdown)(lmf_host_t* host);
} lmf_plugin;

typedef const lmf_plugin* (*lmf_plugin_entry_fn)(const lmf_host_api* api, lmf_host_t* host);

#define LMF_PLUGIN_ENTRY_SYMBOL "lmf_plugin_entry"

#ifdef __cplusplus
}
#endif

#endif /* LMF_PLUGIN_H */
