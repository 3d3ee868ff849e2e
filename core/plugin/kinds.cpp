#include "core/plugin/kinds.h"

#include <array>

namespace lmf::plugin {
namespace {

#define LMF_SLOT(type, member)      \
  RequiredSlot {                    \
#member, offsetof(type, member) \
  }

// Members documented as optional in the headers are not listed:
// a plugin may leave them NULL and the host answers LMF_ERR_UNSUPPORTED for it.
constexpr std::array data_source_slots{LMF_SLOT(lmf_data_source_vtable, next_batch),
                                       LMF_SLOT(lmf_data_source_vtable, report)};
constexpr std::array tokenizer_slots{
    LMF_SLOT(lmf_tokenizer_vtable, vocab_size), LMF_SLOT(lmf_tokenizer_vtable, encode),
    LMF_SLOT(lmf_tokenizer_vtable, decode), LMF_SLOT(lmf_tokenizer_vtable, token_to_id),
    LMF_SLOT(lmf_tokenizer_vtable, id_to_token)};
constexpr std::array parallel_slots{
    LMF_SLOT(lmf_parallel_vtable, topology),   LMF_SLOT(lmf_parallel_vtable, plan),
    LMF_SLOT(lmf_parallel_vtable, all_reduce), LMF_SLOT(lmf_parallel_vtable, broadcast),
    LMF_SLOT(lmf_parallel_vtable, all_gather), LMF_SLOT(lmf_parallel_vtable, reduce_scatter),
    LMF_SLOT(lmf_parallel_vtable, barrier)};
constexpr std::array quantizer_slots{
    LMF_SLOT(lmf_quantizer_vtable, capabilities), LMF_SLOT(lmf_quantizer_vtable, quantize),
    LMF_SLOT(lmf_quantizer_vtable, dequantize), LMF_SLOT(lmf_quantizer_vtable, matmul),
    LMF_SLOT(lmf_quantizer_vtable, release_layer)};
constexpr std::array backend_slots{LMF_SLOT(lmf_backend_vtable, load),
                                   LMF_SLOT(lmf_backend_vtable, info)};
constexpr std::array frontend_slots{LMF_SLOT(lmf_frontend_vtable, serve),
                                    LMF_SLOT(lmf_frontend_vtable, stop)};

#undef LMF_SLOT

// The 1.0 quantizer vtable ends at release_layer; search_input_scales (since 1.1) is
// optional, so a plugin built against 1.0 still loads (Note [ABI growth]).
constexpr size_t kQuantizerVtable10Size =
    offsetof(lmf_quantizer_vtable, release_layer) + sizeof(lmf_quantizer_vtable::release_layer);

const std::array<KindInfo, 6> kinds{{
    {LMF_KIND_DATA_SOURCE, "data_source", sizeof(lmf_data_source_vtable), data_source_slots},
    {LMF_KIND_TOKENIZER, "tokenizer", sizeof(lmf_tokenizer_vtable), tokenizer_slots},
    {LMF_KIND_PARALLEL, "parallel", sizeof(lmf_parallel_vtable), parallel_slots},
    {LMF_KIND_QUANTIZER, "quantizer", kQuantizerVtable10Size, quantizer_slots},
    {LMF_KIND_BACKEND, "backend", sizeof(lmf_backend_vtable), backend_slots},
    {LMF_KIND_FRONTEND, "frontend", sizeof(lmf_frontend_vtable), frontend_slots},
}};

}  // namespace

const KindInfo* find_kind(lmf_kind kind) noexcept {
  for (const KindInfo& info : kinds)
    if (info.kind == kind) return &info;
  return nullptr;
}

std::optional<lmf_kind> kind_from_name(std::string_view name) noexcept {
  for (const KindInfo& info : kinds)
    if (name == info.name) return info.kind;
  return std::nullopt;
}

std::span<const KindInfo> all_kinds() noexcept {
  return kinds;
}

const char* kind_name(lmf_kind kind) noexcept {
  const KindInfo* info = find_kind(kind);
  return info == nullptr ? "unknown" : info->name;
}

}  // namespace lmf::plugin
