/* Compiled as strict C11 (-std=c11 -Wall -Wextra -Wpedantic -Werror): the ABI headers
 * need no C++ and no compiler extension. The static assertions freeze the layout of ABI
 * 1.0: the offsets of the 1.0 members of the host's table and of the two descriptors
 * (x86-64 LP64 values), and the values of the status codes and kinds. Members are only
 * ever appended (Note [ABI growth] in lmf_types.h), so none of these may ever change; a
 * header edit that moves one fails the build here. Run as a test, it also checks
 * LMF_HAS_MEMBER against a descriptor of an older minor version.
 */
#include <lmf/lmf.h>

#include <stdio.h>
#include <string.h>

#define FROZEN_OFFSET(type, member, offset)                                      \
  _Static_assert(offsetof(type, member) == (offset), #type "." #member           \
                                                           " moved: ABI 1.0 is " \
                                                           "frozen")

#if defined(__x86_64__) && defined(__LP64__)

FROZEN_OFFSET(lmf_host_api, struct_size, 0);
FROZEN_OFFSET(lmf_host_api, abi_major, 4);
FROZEN_OFFSET(lmf_host_api, abi_minor, 6);
FROZEN_OFFSET(lmf_host_api, status_create, 8);
FROZEN_OFFSET(lmf_host_api, status_code, 16);
FROZEN_OFFSET(lmf_host_api, status_message, 24);
FROZEN_OFFSET(lmf_host_api, status_release, 32);
FROZEN_OFFSET(lmf_host_api, alloc, 40);
FROZEN_OFFSET(lmf_host_api, free, 48);
FROZEN_OFFSET(lmf_host_api, tensor_alloc, 56);
FROZEN_OFFSET(lmf_host_api, log, 64);
FROZEN_OFFSET(lmf_host_api, metric, 72);
FROZEN_OFFSET(lmf_host_api, progress_begin, 80);
FROZEN_OFFSET(lmf_host_api, progress_advance, 88);
FROZEN_OFFSET(lmf_host_api, progress_end, 96);
FROZEN_OFFSET(lmf_host_api, is_cancelled, 104);
FROZEN_OFFSET(lmf_host_api, config_get, 112);
FROZEN_OFFSET(lmf_host_api, find_component, 120);

FROZEN_OFFSET(lmf_plugin, struct_size, 0);
FROZEN_OFFSET(lmf_plugin, abi_major, 4);
FROZEN_OFFSET(lmf_plugin, abi_minor, 6);
FROZEN_OFFSET(lmf_plugin, name, 8);
FROZEN_OFFSET(lmf_plugin, version, 16);
FROZEN_OFFSET(lmf_plugin, vendor, 24);
FROZEN_OFFSET(lmf_plugin, description, 32);
FROZEN_OFFSET(lmf_plugin, component_count, 40);
FROZEN_OFFSET(lmf_plugin, components, 48);
FROZEN_OFFSET(lmf_plugin, init, 56);
FROZEN_OFFSET(lmf_plugin, shutdown, 64);

FROZEN_OFFSET(lmf_component, struct_size, 0);
FROZEN_OFFSET(lmf_component, kind, 4);
FROZEN_OFFSET(lmf_component, name, 8);
FROZEN_OFFSET(lmf_component, description, 16);
FROZEN_OFFSET(lmf_component, config_schema, 24);
FROZEN_OFFSET(lmf_component, create, 32);
FROZEN_OFFSET(lmf_component, destroy, 40);
FROZEN_OFFSET(lmf_component, vtable, 48);
FROZEN_OFFSET(lmf_component, run_stage, 56);

/* Growth only: the 1.0 tables can get larger, never smaller. */
_Static_assert(sizeof(lmf_host_api) >= 128, "lmf_host_api lost members");
_Static_assert(sizeof(lmf_plugin) >= 72, "lmf_plugin lost members");
_Static_assert(sizeof(lmf_component) >= 64, "lmf_component lost members");

#endif /* x86-64 LP64 */

/* Every descriptor starts with the same three members whatever the major version: they
 * are what a host reads to decide whether it can read the rest. */
_Static_assert(offsetof(lmf_plugin, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(lmf_plugin, abi_major) == sizeof(uint32_t), "abi_major second");

_Static_assert(LMF_ABI_MAJOR == 1, "this file freezes ABI 1.x");
_Static_assert(LMF_OK == 0 && LMF_ERR_INVALID_ARGUMENT == 1 && LMF_ERR_NOT_FOUND == 2 &&
                   LMF_ERR_UNSUPPORTED == 3 && LMF_ERR_CANCELLED == 4 && LMF_ERR_IO == 5 &&
                   LMF_ERR_DATA == 6 && LMF_ERR_OUT_OF_MEMORY == 7 && LMF_ERR_ABI == 8 &&
                   LMF_ERR_INTERNAL == 9,
               "status codes are frozen");
_Static_assert(LMF_KIND_DATA_SOURCE == 1 && LMF_KIND_TOKENIZER == 2 && LMF_KIND_PARALLEL == 3 &&
                   LMF_KIND_QUANTIZER == 4 && LMF_KIND_BACKEND == 5 && LMF_KIND_FRONTEND == 6,
               "kinds are frozen");

int main(void) {
  /* A descriptor written by a plugin built before init/shutdown existed. */
  lmf_plugin older;
  int failures = 0;
  memset(&older, 0, sizeof older);
  older.struct_size = (uint32_t)(offsetof(lmf_plugin, components) + sizeof(older.components));
  if (!LMF_HAS_MEMBER(&older, lmf_plugin, components)) {
    fputs("LMF_HAS_MEMBER: components should be present\n", stderr);
    ++failures;
  }
  if (LMF_HAS_MEMBER(&older, lmf_plugin, init) || LMF_HAS_MEMBER(&older, lmf_plugin, shutdown)) {
    fputs("LMF_HAS_MEMBER: init and shutdown should be absent\n", stderr);
    ++failures;
  }
  if (LMF_HAS_MEMBER((const lmf_plugin*)NULL, lmf_plugin, struct_size)) {
    fputs("LMF_HAS_MEMBER: NULL holds nothing\n", stderr);
    ++failures;
  }
  if (failures == 0) puts("ABI headers: C11 clean, 1.0 layout frozen");
  return failures == 0 ? 0 : 1;
}
