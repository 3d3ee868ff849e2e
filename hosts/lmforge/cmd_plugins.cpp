// lmforge plugins list / inspect.
#include "hosts/lmforge/cli_common.h"
#include "hosts/lmforge/commands.h"
#include "hosts/lmforge/exit_codes.h"

#include <nlohmann/json.hpp>

#include <iomanip>
#include <iostream>

namespace lmf::cli {
namespace {

std::string abi_text(const lmf_plugin& descriptor) {
  return std::to_string(descriptor.abi_major) + "." + std::to_string(descriptor.abi_minor);
}

nlohmann::json component_json(const plugin::ComponentRef& ref, bool with_schema) {
  nlohmann::json entry = {{"kind", ref.kind->name}, {"name", ref.name()}};
  if (ref.component->description != nullptr) entry["description"] = ref.component->description;
  entry["runs_as_stage"] = LMF_HAS_MEMBER(ref.component, lmf_component, run_stage) &&
                           ref.component->run_stage != nullptr;
  if (with_schema) entry["config_schema"] = nlohmann::json::parse(ref.schema());
  return entry;
}

nlohmann::json plugin_json(const plugin::PluginRegistry& registry, const plugin::LoadedPlugin& p,
                           bool with_schema) {
  nlohmann::json components = nlohmann::json::array();
  for (const plugin::ComponentRef& ref : registry.components_of(p))
    components.push_back(component_json(ref, with_schema));
  return {{"name", p.name()},
          {"version", p.version()},
          {"vendor", p.vendor()},
          {"description", p.description()},
          {"abi", abi_text(p.descriptor())},
          {"file", p.file().string()},
          {"components", components}};
}

}  // namespace

int plugins_list(const Args& args) {
  CommonOptions common;
  bool as_json = false;
  po::options_description options = common_options(common);
  options.add_options()("json", po::bool_switch(&as_json), "print JSON for tools");
  po::variables_map variables;
  if (!parse_command(args, options, {}, variables, "lmforge plugins list [--json]")) return kExitOk;
  auto session = open_session(common);
  const plugin::PluginRegistry& registry = session->registry();

  nlohmann::json plugins = nlohmann::json::array();
  for (const auto& p : registry.plugins()) plugins.push_back(plugin_json(registry, *p, false));
  nlohmann::json refused = nlohmann::json::array();
  for (const plugin::LoadFailure& failure : registry.failures())
    refused.push_back({{"file", failure.file.string()}, {"error", failure.message}});
  if (as_json) {
    std::cout << nlohmann::json{{"plugins", plugins}, {"refused", refused}}.dump(2) << "\n";
    return kExitOk;
  }
  if (plugins.empty()) std::cout << "No plugins loaded.\n";
  for (const nlohmann::json& p : plugins) {
    std::cout << p["name"].get<std::string>() << " " << p["version"].get<std::string>() << " ("
              << p["vendor"].get<std::string>() << ", ABI " << p["abi"].get<std::string>() << ")\n"
              << "  " << p["file"].get<std::string>() << "\n";
    for (const nlohmann::json& c : p["components"])
      std::cout << "  " << std::left << std::setw(12) << c["kind"].get<std::string>() << " "
                << std::setw(16) << c["name"].get<std::string>() << " "
                << c.value("description", "") << "\n";
  }
  for (const nlohmann::json& r : refused)
    std::cout << "refused: " << r["error"].get<std::string>() << "\n";
  return kExitOk;
}

int plugins_inspect(const Args& args) {
  CommonOptions common;
  bool as_json = false;
  std::string name;
  po::options_description options = common_options(common);
  options.add_options()("json", po::bool_switch(&as_json), "print JSON for tools")(
      "name", po::value(&name)->required(), "a plugin name, a component name, or KIND/NAME");
  po::positional_options_description positional;
  positional.add("name", 1);
  po::variables_map variables;
  if (!parse_command(args, options, positional, variables, "lmforge plugins inspect NAME [--json]"))
    return kExitOk;
  auto session = open_session(common);
  const plugin::PluginRegistry& registry = session->registry();

  nlohmann::json found;
  if (auto p = registry.find_plugin(name)) {
    found = plugin_json(registry, *p, true);
  } else {
    std::string wanted_kind, wanted_name = name;
    if (size_t slash = name.find('/'); slash != std::string::npos)
      wanted_kind = name.substr(0, slash), wanted_name = name.substr(slash + 1);
    for (const plugin::ComponentRef& ref : registry.components()) {
      if (ref.name() != wanted_name || (!wanted_kind.empty() && wanted_kind != ref.kind->name))
        continue;
      nlohmann::json entry = component_json(ref, true);
      entry["plugin"] = {{"name", ref.plugin->name()},
                         {"version", ref.plugin->version()},
                         {"vendor", ref.plugin->vendor()},
                         {"file", ref.plugin->file().string()}};
      found.push_back(entry);
    }
  }
  if (found.is_null()) {
    std::string known;
    for (const auto& p : registry.plugins()) known += (known.empty() ? "" : ", ") + p->name();
    std::cerr << "lmforge: no plugin or component named \"" << name
              << "\" (plugins: " << (known.empty() ? "none loaded" : known) << ")\n";
    return kExitPlugin;
  }
  if (as_json) {
    std::cout << found.dump(2) << "\n";
    return kExitOk;
  }
  const bool is_plugin = found.is_object();
  if (is_plugin)
    std::cout << "plugin   " << found["name"].get<std::string>() << " "
              << found["version"].get<std::string>() << "\nvendor   "
              << found["vendor"].get<std::string>() << "\nABI      "
              << found["abi"].get<std::string>() << "\nfile     "
              << found["file"].get<std::string>() << "\n"
              << found["description"].get<std::string>() << "\n";
  for (const nlohmann::json& c : is_plugin ? found["components"] : found) {
    std::cout << "\n"
              << c["kind"].get<std::string>() << " \"" << c["name"].get<std::string>() << "\"";
    if (c.contains("plugin"))
      std::cout << " from " << c["plugin"]["name"].get<std::string>() << " "
                << c["plugin"]["version"].get<std::string>() << " ("
                << c["plugin"]["vendor"].get<std::string>() << ", "
                << c["plugin"]["file"].get<std::string>() << ")";
    std::cout << "\n  " << c.value("description", "")
              << "\n  runs as a pipeline stage: " << (c["runs_as_stage"].get<bool>() ? "yes" : "no")
              << "\n  config schema:\n"
              << c["config_schema"].dump(2) << "\n";
  }
  return kExitOk;
}

}  // namespace lmf::cli
