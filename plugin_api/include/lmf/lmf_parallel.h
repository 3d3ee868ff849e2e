/* lmforge plugin ABI — parallel strategies: the device mesh, the sharding plan, and the
 * collectives (NCCL on GPUs, Gloo or shared memory on CPUs).
 *
 * Ranks meet the way torchrun, Slurm and Kubernetes start them: the instance reads RANK,
 * WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT (or its config) in `create`.
 * Threading: collectives on one instance are issued by one thread at a time, in the same
 * order on every rank; `topology` and `plan` may be called from any thread.
 */
#ifndef LMF_PARALLEL_H
#define LMF_PARALLEL_H

#include <dlpack/dlpack.h>

#include "lmf_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lmf_topology {
  uint32_t struct_size;     /* since 1.0: set by the caller */
  int32_t rank;             /* since 1.0 */
  int32_t world_size;       /* since 1.0 */
  int32_t local_rank;       /* since 1.0 */
  int32_t local_world_size; /* since 1.0 */
} lmf_topology;

typedef int32_t lmf_reduce_op;
#define LMF_REDUCE_SUM 0
#define LMF_REDUCE_AVG 1
#define LMF_REDUCE_MAX 2
#define LMF_REDUCE_MIN 3

/* Group 0 is always the whole world; others come from new_group. */
#define LMF_GROUP_WORLD 0

typedef struct lmf_parallel_vtable {
  uint32_t struct_size; /* since 1.0 */
  /* since 1.0: this process's place in the world (reads `out->struct_size` first). */
  lmf_status_t* (*topology)(lmf_instance_t* strategy, lmf_topology* out);
  /* since 1.0: given a model description (JSON: layers, hidden size, parameter names and
   * shapes), the plan as JSON: mesh (dp, tp, pp degrees), which parameters each rank holds
   * and how they are split, ZeRO stage and offload (docs/plugin-abi.md). Host frees. */
  lmf_status_t* (*plan)(lmf_instance_t* strategy, lmf_str_view model_json, lmf_string* out);
  /* since 1.0, optional: a communicator over `ranks` (every rank of the world calls it, in the same
   * order); `*out` names it in the collectives below. */
  lmf_status_t* (*new_group)(lmf_instance_t* strategy, const int32_t* ranks, size_t count,
                             int32_t* out);
  /* since 1.0: collectives on borrowed DLPack tensors. `stream` is the device stream the
   * operation is ordered on (cudaStream_t on CUDA; NULL = the default stream, or ignored
   * on CPU). In-place where the input is the output. */
  lmf_status_t* (*all_reduce)(lmf_instance_t* strategy, int32_t group, DLTensor* tensor,
                              lmf_reduce_op op, void* stream);
  lmf_status_t* (*broadcast)(lmf_instance_t* strategy, int32_t group, DLTensor* tensor,
                             int32_t root, void* stream);
  /* output holds world-of-group × input along dim 0 */
  lmf_status_t* (*all_gather)(lmf_instance_t* strategy, int32_t group, const DLTensor* input,
                              DLTensor* output, void* stream);
  /* input holds world-of-group × output along dim 0 */
  lmf_status_t* (*reduce_scatter)(lmf_instance_t* strategy, int32_t group,
                                  const DLTensor* input, DLTensor* output, lmf_reduce_op op,
                                  void* stream);
  lmf_status_t* (*barrier)(lmf_instance_t* strategy, int32_t group);
} lmf_parallel_vtable;

#ifdef __cplusplus
}
#endif

#endif /* LMF_PARALLEL_H */
