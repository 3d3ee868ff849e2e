// lmforge SDK — the model backend kind.
#pragma once

#include <lmf/sdk/component.h>
#include <lmf/sdk/tensor.h>

#include <functional>
#include <span>
#include <string>
#include <vector>

namespace lmf::sdk {

struct GenerateRequest {
  std::span<const int32_t> prompt;
  Json sampling;
  // Called for each new token; returns false to stop. Empty when not streaming.
  std::function<bool(int32_t)> on_token;
};

struct GenerateResult {
  std::vector<int32_t> ids;
  lmf_finish_reason finish_reason = LMF_FINISH_LENGTH;
};

class Backend : public Component {
 public:
  using base_type = Backend;

  virtual void load(const std::string& path, const Json& options) = 0;
  virtual void save(const std::string& path, const Json& options) {
    (void)path, (void)options;
    unsupported("save");
  }
  virtual Json info() = 0;
  virtual ManagedTensor forward(const DLTensor& input_ids) {
    (void)input_ids;
    unsupported("forward");
  }
  virtual GenerateResult generate(const GenerateRequest& request) {
    (void)request;
    unsupported("generate");
  }
  virtual Json train(const Json& config) {
    (void)config;
    unsupported("train");
  }
  virtual Json evaluate(const Json& config) {
    (void)config;
    unsupported("evaluate");
  }
  virtual Json quantize(const Json& config) {
    (void)config;
    unsupported("quantize");
  }
};

template <>
struct KindTraits<Backend> {
  static constexpr lmf_kind kind = LMF_KIND_BACKEND;
  static Backend* self(lmf_instance_t* instance) { return detail::self<Backend>(instance); }

  static lmf_status_t* load(lmf_instance_t* b, lmf_str_view path, lmf_str_view options) noexcept {
    return guard(
        [&] { self(b)->load(std::string(from_view(path)), detail::parse_config(options)); });
  }
  static lmf_status_t* save(lmf_instance_t* b, lmf_str_view path, lmf_str_view options) noexcept {
    return guard(
        [&] { self(b)->save(std::string(from_view(path)), detail::parse_config(options)); });
  }
  static lmf_status_t* info(lmf_instance_t* b, lmf_string* out) noexcept {
    return guard([&] { *out = to_owned_string(self(b)->info().dump()); });
  }
  static lmf_status_t* forward(lmf_instance_t* b, const DLTensor* ids,
                               DLManagedTensor** out) noexcept {
    return guard([&] { *out = self(b)->forward(*ids).release(); });
  }
  static lmf_status_t* generate(lmf_instance_t* b, const lmf_generate_request* request,
                                lmf_generate_result* out) noexcept {
    return guard([&] {
      GenerateRequest r;
      r.prompt = std::span<const int32_t>(request->prompt_ids, request->prompt_count);
      r.sampling = detail::parse_config(request->sampling_json);
      if (request->on_token != nullptr) {
        lmf_token_callback callback = request->on_token;
        void* user = request->user;
        r.on_token = [callback, user](int32_t id) { return callback(user, id) == 0; };
      }
      GenerateResult result = self(b)->generate(r);
      auto* ids = static_cast<int32_t*>(
          api().alloc(std::max<size_t>(result.ids.size(), 1) * sizeof(int32_t), 0));
      if (ids == nullptr) throw std::bad_alloc();
      std::copy(result.ids.begin(), result.ids.end(), ids);
      out->ids = ids;
      out->count = result.ids.size();
      out->finish_reason = result.finish_reason;
    });
  }
  static lmf_status_t* train(lmf_instance_t* b, lmf_str_view config, lmf_string* out) noexcept {
    return guard(
        [&] { *out = to_owned_string(self(b)->train(detail::parse_config(config)).dump()); });
  }
  static lmf_status_t* evaluate(lmf_instance_t* b, lmf_str_view config, lmf_string* out) noexcept {
    return guard(
        [&] { *out = to_owned_string(self(b)->evaluate(detail::parse_config(config)).dump()); });
  }
  static lmf_status_t* quantize(lmf_instance_t* b, lmf_str_view config, lmf_string* out) noexcept {
    return guard(
        [&] { *out = to_owned_string(self(b)->quantize(detail::parse_config(config)).dump()); });
  }

  static constexpr lmf_backend_vtable vtable{sizeof(lmf_backend_vtable),
                                             &load,
                                             &save,
                                             &info,
                                             &forward,
                                             &generate,
                                             &train,
                                             &evaluate,
                                             &quantize};
};

}  // namespace lmf::sdk
