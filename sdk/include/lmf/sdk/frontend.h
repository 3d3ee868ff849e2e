// lmforge SDK — the serving frontend kind.
#pragma once

#include <lmf/sdk/component.h>

namespace lmf::sdk {

class Frontend : public Component {
 public:
  using base_type = Frontend;

  // Serves until stop() or the host's cancellation; returns when every connection closed.
  virtual void serve(const lmf_serve_target& target) = 0;
  // Called from any thread, any number of times.
  virtual void stop() noexcept = 0;
};

template <>
struct KindTraits<Frontend> {
  static constexpr lmf_kind kind = LMF_KIND_FRONTEND;
  static Frontend* self(lmf_instance_t* instance) { return detail::self<Frontend>(instance); }

  static lmf_status_t* serve(lmf_instance_t* f, const lmf_serve_target* target) noexcept {
    return guard([&] { self(f)->serve(*target); });
  }
  static void stop(lmf_instance_t* f) noexcept { self(f)->stop(); }

  static constexpr lmf_frontend_vtable vtable{sizeof(lmf_frontend_vtable), &serve, &stop};
};

}  // namespace lmf::sdk
