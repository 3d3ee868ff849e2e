#include "core/planner/gpu_catalog.h"

#include "core/config/diagnostics.h"
#include "core/planner/json_file.h"
#include "core/planner/plan_error.h"
#include "core/planner/units.h"

#include <algorithm>
#include <cctype>

namespace lmf::planner {

using config::ConfigError;
using nlohmann::json;

namespace {

// "A100 80GB" and "a100-80gb" are the same name.
std::string key_of(const std::string& name) {
  std::string key;
  for (unsigned char c : name)
    if (std::isalnum(c)) key += static_cast<char>(std::tolower(c));
  return key;
}

bool matches(const GpuSpec& gpu, const std::string& name) {
  const std::string key = key_of(name);
  if (key_of(gpu.id) == key || key_of(gpu.name) == key) return true;
  return std::any_of(gpu.aliases.begin(), gpu.aliases.end(),
                     [&](const std::string& alias) { return key_of(alias) == key; });
}

std::optional<double> price_field(const JsonFields& f, const std::string& key) {
  return f.optional_non_negative_number(key);  // null: no known price
}

// A misspelt field would silently leave the built-in value: refuse it instead.
void check_fields(const JsonFields& f, const std::vector<std::string>& known) {
  for (const auto& [key, value] : f.object().items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string message = "unknown field";
    if (auto closest = config::closest_name(key, known))
      message += "; did you mean \"" + *closest + "\"?";
    throw f.error(key, message);
  }
}

const std::vector<std::string> kEntryFields{"id",
                                            "name",
                                            "aliases",
                                            "memory_gb",
                                            "memory_mib",
                                            "bandwidth_gbs",
                                            "tflops_16bit",
                                            "tflops_fp32",
                                            "bf16",
                                            "power_w",
                                            "currency",
                                            "price",
                                            "price_estimate",
                                            "price_source",
                                            "cloud_per_hour",
                                            "cloud_estimate",
                                            "cloud_source",
                                            "spec_source",
                                            "seed_tflops",
                                            "origin"};

// Sets the fields `entry` gives; the rest of `gpu` stays.
void apply_entry(GpuSpec& gpu, const JsonFields& f, const std::string& currency) {
  check_fields(f, kEntryFields);
  if (auto name = f.optional_string("name")) gpu.name = *name;
  if (f.has("aliases")) {
    const json& aliases = f.object()["aliases"];
    if (!aliases.is_array()) throw f.error("aliases", "expected an array of strings");
    gpu.aliases.clear();
    for (const json& alias : aliases) {
      if (!alias.is_string()) throw f.error("aliases", "expected an array of strings");
      gpu.aliases.push_back(alias.get<std::string>());
    }
  }
  if (auto gb = f.optional_positive_number("memory_gb")) {
    gpu.memory_gb = *gb;
    if (!f.has("memory_mib")) gpu.memory_mib = *gb * 1024;  // "80GB" is 80 GiB
  }
  if (auto mib = f.optional_positive_number("memory_mib")) {
    gpu.memory_mib = *mib;
    if (gpu.memory_gb <= 0) gpu.memory_gb = *mib / 1024;
  }
  if (auto bandwidth = f.optional_positive_number("bandwidth_gbs")) gpu.bandwidth_gbs = *bandwidth;
  if (auto tflops = f.optional_positive_number("tflops_16bit")) gpu.tflops_16bit = *tflops;
  if (auto tflops = f.optional_positive_number("tflops_fp32")) gpu.tflops_fp32 = *tflops;
  if (auto bf16 = f.optional_bool("bf16")) gpu.bf16 = *bf16;
  if (auto power = f.optional_non_negative_number("power_w")) gpu.power_w = *power;
  const bool prices = f.object().contains("price") || f.object().contains("cloud_per_hour");
  if (f.object().contains("price")) {
    gpu.price = price_field(f, "price");
    gpu.price_estimate = f.optional_bool("price_estimate").value_or(false);
  }
  if (f.object().contains("cloud_per_hour")) {
    gpu.cloud_per_hour = price_field(f, "cloud_per_hour");
    gpu.cloud_estimate = f.optional_bool("cloud_estimate").value_or(false);
  }
  if (auto own = f.optional_string("currency"))
    gpu.currency = *own;
  else if (prices)
    gpu.currency = currency;
  if (auto source = f.optional_string("price_source")) gpu.price_source = *source;
  if (auto source = f.optional_string("cloud_source")) gpu.cloud_source = *source;
  if (auto source = f.optional_string("spec_source")) gpu.spec_source = *source;
}

}  // namespace

double GpuSpec::capacity_bytes() const {
  return memory_mib * kMiB;
}

void merge_catalog(GpuCatalog& catalog, const json& document, const std::string& file) {
  if (!document.is_object())
    throw ConfigError(
        file, "",
        "expected a JSON object with a \"gpus\" array, got " + config::json_type_name(document));
  const JsonFields top(document, file);
  check_fields(top, {"about", "currency", "gpus"});
  const std::string currency = top.optional_string("currency").value_or("CNY");
  if (!document.contains("gpus") || !document["gpus"].is_array())
    throw top.error("gpus", "missing or not an array: list the GPUs to add or override");
  const json& entries = document["gpus"];
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string pointer = "/gpus/" + std::to_string(i);
    if (!entries[i].is_object())
      throw ConfigError(file, pointer,
                        "expected an object, got " + config::describe_value(entries[i]));
    const JsonFields f(entries[i], file, pointer);
    const auto id = f.optional_string("id");
    if (!id || id->empty()) throw f.error("id", "missing: every GPU needs an id");
    auto existing = std::find_if(catalog.gpus.begin(), catalog.gpus.end(),
                                 [&](const GpuSpec& gpu) { return matches(gpu, *id); });
    const bool added = existing == catalog.gpus.end();
    GpuSpec gpu = added ? GpuSpec{} : *existing;
    if (added) {
      gpu.id = *id;
      gpu.name = *id;
    }
    apply_entry(gpu, f, currency);
    gpu.origin = file;
    if (added) {
      if (gpu.memory_mib <= 0) throw f.error("memory_gb", "missing: a new GPU needs its memory");
      if (gpu.tflops_16bit <= 0)
        throw f.error("tflops_16bit", "missing: a new GPU needs its dense BF16/FP16 TFLOPS");
      if (gpu.bandwidth_gbs <= 0)
        throw f.error("bandwidth_gbs", "missing: a new GPU needs its memory bandwidth (GB/s)");
      if (gpu.tflops_fp32 <= 0) gpu.tflops_fp32 = gpu.tflops_16bit / 8;
      catalog.gpus.push_back(std::move(gpu));
    } else {
      *existing = std::move(gpu);
    }
  }
}

GpuCatalog builtin_catalog() {
  GpuCatalog catalog;
  merge_catalog(catalog, json::parse(builtin_catalog_json()), "built-in GPU catalog");
  for (GpuSpec& gpu : catalog.gpus) gpu.origin = "built in";
  return catalog;
}

void merge_catalog_file(GpuCatalog& catalog, const std::filesystem::path& file) {
  merge_catalog(catalog, read_json_file(file), file.string());
  catalog.files.push_back(file.string());
}

const GpuSpec& find_gpu(const GpuCatalog& catalog, const std::string& name) {
  for (const GpuSpec& gpu : catalog.gpus)
    if (matches(gpu, name)) return gpu;
  std::vector<std::string> ids;
  for (const GpuSpec& gpu : catalog.gpus) ids.push_back(gpu.id);
  std::string message = "--gpu " + config::json_quoted(name) + ": not in the GPU catalog";
  // A name inside an id or alias ("h10" in "h100") is the likeliest intent; then a typo.
  std::optional<std::string> closest;
  std::vector<std::string> containing;
  for (const GpuSpec& gpu : catalog.gpus) {
    bool contains = key_of(gpu.id).find(key_of(name)) != std::string::npos;
    for (const std::string& alias : gpu.aliases)
      contains = contains || key_of(alias).find(key_of(name)) != std::string::npos;
    if (contains && !key_of(name).empty()) containing.push_back(gpu.id);
  }
  if (containing.size() == 1) closest = containing.front();
  if (!closest) closest = config::closest_name(name, ids);
  if (closest) message += "; did you mean \"" + *closest + "\"?";
  message += "\nknown GPUs:";
  for (const std::string& id : ids) message += " " + id;
  message += "\nadd a GPU with --gpu-catalog FILE (see docs/planner.md)";
  throw PlanError(message);
}

json catalog_to_json(const GpuCatalog& catalog) {
  json gpus = json::array();
  auto or_null = [](const std::optional<double>& value) {
    return value ? json(*value) : json(nullptr);
  };
  for (const GpuSpec& gpu : catalog.gpus) {
    json entry{{"id", gpu.id},
               {"name", gpu.name},
               {"aliases", gpu.aliases},
               {"memory_gb", gpu.memory_gb},
               {"memory_mib", gpu.memory_mib},
               {"bandwidth_gbs", gpu.bandwidth_gbs},
               {"tflops_16bit", gpu.tflops_16bit},
               {"tflops_fp32", gpu.tflops_fp32},
               {"bf16", gpu.bf16},
               {"power_w", gpu.power_w},
               {"currency", gpu.currency},
               {"price", or_null(gpu.price)},
               {"price_estimate", gpu.price_estimate},
               {"price_source", gpu.price_source},
               {"cloud_per_hour", or_null(gpu.cloud_per_hour)},
               {"cloud_estimate", gpu.cloud_estimate},
               {"cloud_source", gpu.cloud_source},
               {"spec_source", gpu.spec_source},
               {"origin", gpu.origin}};
    gpus.push_back(std::move(entry));
  }
  return json{{"gpus", gpus}};
}

}  // namespace lmf::planner
