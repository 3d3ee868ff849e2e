// lmforge SDK — components, their registration, and the plugin entry point.
//
// A plugin author derives from the base class of a kind (Quantizer, Tokenizer, …), gives
// it a constructor taking the validated config, and registers it in one line:
//
//   LMF_PLUGIN("acme-quant", "1.2.0", "ACME", "ACME's quantizers",
//              lmf::sdk::component<AcmeInt4>("acme_int4", "4-bit RTN", kAcmeInt4Schema));
#pragma once

#include <lmf/sdk/error.h>
#include <lmf/sdk/host.h>

#include <nlohmann/json.hpp>

#include <type_traits>

namespace lmf::sdk {

using Json = nlohmann::json;

// The root of every component class.
class Component {
 public:
  virtual ~Component() = default;
  // Runs the component as a pipeline stage (`lmforge run`); returns a JSON summary.
  // Override it (with this exact signature) to make the component usable as a stage.
  virtual Json run_stage(const Json& stage) {
    (void)stage;
    unsupported("running as a pipeline stage");
  }
};

// Specialised by each kind header: the kind's constant and its vtable of trampolines.
template <class Base>
struct KindTraits;

namespace detail {

// JSON text that crossed the boundary; malformed text is the caller's error, not ours.
inline Json parse_config(lmf_str_view config_json) {
  std::string_view text = from_view(config_json);
  if (text.empty()) return Json::object();
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    fail(LMF_ERR_INVALID_ARGUMENT, std::string("malformed JSON argument: ") + e.what());
  }
}

template <class Base>
Base* self(lmf_instance_t* instance) {
  return reinterpret_cast<Base*>(instance);
}

template <class Impl>
lmf_status_t* create(lmf_host_t*, lmf_str_view config_json, lmf_instance_t** out) noexcept {
  using Base = typename Impl::base_type;
  return guard([&] {
    Json config = parse_config(config_json);
    Base* made;
    if constexpr (std::is_constructible_v<Impl, const Json&>)
      made = new Impl(config);
    else
      made = new Impl();
    *out = reinterpret_cast<lmf_instance_t*>(made);
  });
}

template <class Base>
void destroy(lmf_instance_t* instance) noexcept {
  delete self<Base>(instance);
}

template <class Base>
lmf_status_t* run_stage(lmf_instance_t* instance, lmf_str_view stage_json,
                        lmf_string* summary) noexcept {
  return guard([&] {
    Json result = self<Base>(instance)->run_stage(parse_config(stage_json));
    *summary = to_owned_string(result.dump());
  });
}

// True when Impl (or a class between it and Component) declares run_stage.
template <class Impl>
constexpr bool declares_run_stage =
    !std::is_same_v<decltype(&Impl::run_stage), Json (Component::*)(const Json&)>;

inline const lmf_plugin* describe_plugin(const lmf_host_api* host_api, lmf_host_t* host,
                                         const char* name, const char* version, const char* vendor,
                                         const char* description,
                                         const lmf_component* const* components,
                                         size_t count) noexcept {
  if (host_api == nullptr || host_api->struct_size < sizeof(uint32_t) + 2 * sizeof(uint16_t))
    return nullptr;
  // Another major version's table may be laid out differently, so not even `log` can be
  // called on it: refusing is all a plugin can do (the host says why).
  if (host_api->abi_major != LMF_ABI_MAJOR) return nullptr;
  g_host_context = {host_api, host};
  static lmf_plugin plugin{};
  plugin = lmf_plugin{sizeof(lmf_plugin), LMF_ABI_MAJOR, LMF_ABI_MINOR, name,    version, vendor,
                      description,        count,         components,    nullptr, nullptr};
  return &plugin;
}

}  // namespace detail

// The descriptor of component class Impl (one registration per class).
template <class Impl>
const lmf_component* component(const char* name, const char* description,
                               const char* config_schema) {
  using Base = typename Impl::base_type;
  static_assert(std::is_base_of_v<Base, Impl>, "Impl must derive from its kind's base class");
  static const lmf_component descriptor{
      sizeof(lmf_component),
      KindTraits<Base>::kind,
      name,
      description,
      config_schema,
      &detail::create<Impl>,
      &detail::destroy<Base>,
      &KindTraits<Base>::vtable,
      detail::declares_run_stage<Impl> ? &detail::run_stage<Base> : nullptr};
  return &descriptor;
}

}  // namespace lmf::sdk

// Defines the plugin's entry point. The arguments after the description are
// lmf::sdk::component<...>(...) calls, one per component.
#define LMF_PLUGIN(NAME, VERSION, VENDOR, DESCRIPTION, ...)                         \
  extern "C" LMF_EXPORT const lmf_plugin* lmf_plugin_entry(const lmf_host_api* api, \
                                                           lmf_host_t* host) {      \
    static const lmf_component* const lmf_components[] = {__VA_ARGS__};             \
    return ::lmf::sdk::detail::describe_plugin(                                     \
        api, host, NAME, VERSION, VENDOR, DESCRIPTION, lmf_components,              \
        sizeof(lmf_components) / sizeof(lmf_components[0]));                        \
  }
