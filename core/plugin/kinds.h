// The six component kinds: names, and what the host requires of each kind's vtable.
#pragma once

#include <lmf/lmf.h>

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace lmf::plugin {

// A function-pointer member of a vtable that ABI 1.0 requires to be non-NULL.
struct RequiredSlot {
  const char* name;
  size_t offset;
};

struct KindInfo {
  lmf_kind kind;
  const char* name;        // "quantizer"
  size_t min_vtable_size;  // sizeof the 1.0 vtable: every 1.0 member is present
  std::span<const RequiredSlot> required_slots;
};

// NULL for a kind this host does not know (a newer plugin's).
const KindInfo* find_kind(lmf_kind kind) noexcept;
std::optional<lmf_kind> kind_from_name(std::string_view name) noexcept;
std::span<const KindInfo> all_kinds() noexcept;
const char* kind_name(lmf_kind kind) noexcept;  // "unknown" if unknown

}  // namespace lmf::plugin
