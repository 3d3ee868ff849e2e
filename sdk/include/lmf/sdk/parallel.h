// lmforge SDK — the parallel strategy kind.
#pragma once

#include <lmf/sdk/component.h>

#include <span>

namespace lmf::sdk {

struct Topology {
  int32_t rank = 0, world_size = 1, local_rank = 0, local_world_size = 1;
};

class ParallelStrategy : public Component {
 public:
  using base_type = ParallelStrategy;

  virtual Topology topology() = 0;
  virtual Json plan(const Json& model) = 0;
  virtual int32_t new_group(std::span<const int32_t> ranks) {
    (void)ranks;
    unsupported("new_group");
  }
  virtual void all_reduce(int32_t group, DLTensor& tensor, lmf_reduce_op op, void* stream) {
    (void)group, (void)tensor, (void)op, (void)stream;
    unsupported("all_reduce");
  }
  virtual void broadcast(int32_t group, DLTensor& tensor, int32_t root, void* stream) {
    (void)group, (void)tensor, (void)root, (void)stream;
    unsupported("broadcast");
  }
  virtual void all_gather(int32_t group, const DLTensor& input, DLTensor& output, void* stream) {
    (void)group, (void)input, (void)output, (void)stream;
    unsupported("all_gather");
  }
  virtual void reduce_scatter(int32_t group, const DLTensor& input, DLTensor& output,
                              lmf_reduce_op op, void* stream) {
    (void)group, (void)input, (void)output, (void)op, (void)stream;
    unsupported("reduce_scatter");
  }
  virtual void barrier(int32_t group) {
    (void)group;
    unsupported("barrier");
  }
};

template <>
struct KindTraits<ParallelStrategy> {
  static constexpr lmf_kind kind = LMF_KIND_PARALLEL;
  using P = ParallelStrategy;
  static P* self(lmf_instance_t* instance) { return detail::self<P>(instance); }

  static lmf_status_t* topology(lmf_instance_t* p, lmf_topology* out) noexcept {
    return guard([&] {
      if (!LMF_HAS_MEMBER(out, lmf_topology, local_world_size))
        fail(LMF_ERR_ABI, "lmf_topology is smaller than ABI 1.0's");
      Topology t = self(p)->topology();
      out->rank = t.rank, out->world_size = t.world_size, out->local_rank = t.local_rank,
      out->local_world_size = t.local_world_size;
    });
  }
  static lmf_status_t* plan(lmf_instance_t* p, lmf_str_view model_json, lmf_string* out) noexcept {
    return guard(
        [&] { *out = to_owned_string(self(p)->plan(detail::parse_config(model_json)).dump()); });
  }
  static lmf_status_t* new_group(lmf_instance_t* p, const int32_t* ranks, size_t count,
                                 int32_t* out) noexcept {
    return guard([&] { *out = self(p)->new_group(std::span<const int32_t>(ranks, count)); });
  }
  static lmf_status_t* all_reduce(lmf_instance_t* p, int32_t g, DLTensor* t, lmf_reduce_op op,
                                  void* s) noexcept {
    return guard([&] { self(p)->all_reduce(g, *t, op, s); });
  }
  static lmf_status_t* broadcast(lmf_instance_t* p, int32_t g, DLTensor* t, int32_t root,
                                 void* s) noexcept {
    return guard([&] { self(p)->broadcast(g, *t, root, s); });
  }
  static lmf_status_t* all_gather(lmf_instance_t* p, int32_t g, const DLTensor* in, DLTensor* out,
                                  void* s) noexcept {
    return guard([&] { self(p)->all_gather(g, *in, *out, s); });
  }
  static lmf_status_t* reduce_scatter(lmf_instance_t* p, int32_t g, const DLTensor* in,
                                      DLTensor* out, lmf_reduce_op op, void* s) noexcept {
    return guard([&] { self(p)->reduce_scatter(g, *in, *out, op, s); });
  }
  static lmf_status_t* barrier(lmf_instance_t* p, int32_t g) noexcept {
    return guard([&] { self(p)->barrier(g); });
  }

  static constexpr lmf_parallel_vtable vtable{sizeof(lmf_parallel_vtable),
                                              &topology,
                                              &plan,
                                              &new_group,
                                              &all_reduce,
                                              &broadcast,
                                              &all_gather,
                                              &reduce_scatter,
                                              &barrier};
};

}  // namespace lmf::sdk
