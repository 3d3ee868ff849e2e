// The GPUs the planner can choose from: memory, peak throughput, power and prices.
// Built in (configs/gpus.json, compiled in) and extended by the user's --gpu-catalog files.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace lmf::planner {

struct GpuSpec {
  std::string id;  // "a100-80gb"
  std::string name;
  std::vector<std::string> aliases;
  double memory_gb = 0;      // as marketed
  double memory_mib = 0;     // as the driver reports it: the capacity the planner fills
  double bandwidth_gbs = 0;  // GB/s
  double tflops_16bit = 0;   // dense BF16/FP16 tensor-core peak
  double tflops_fp32 = 0;    // FP32 without tensor cores
  bool bf16 = true;
  double power_w = 0;
  std::optional<double> price;           // per GPU
  std::optional<double> cloud_per_hour;  // per GPU-hour
  bool price_estimate = false;
  bool cloud_estimate = false;
  std::string currency = "CNY";
  std::string price_source;
  std::string cloud_source;
  std::string spec_source;
  std::string origin;  // "built in" or the last catalog file that set a field

  double capacity_bytes() const;
};

struct GpuCatalog {
  std::vector<GpuSpec> gpus;
  std::vector<std::string> files;  // the --gpu-catalog files merged, in order
};

// The text of configs/gpus.json as compiled in (gpu_catalog_builtin.cpp).
const char* builtin_catalog_json();

GpuCatalog builtin_catalog();

// Merges a catalog document over `catalog`: entries matching an id or alias override the
// fields they give, others are added (and must give memory_mib or memory_gb,
// tflops_16bit and bandwidth_gbs). Throws config::ConfigError naming `file` and the field.
void merge_catalog(GpuCatalog& catalog, const nlohmann::json& document, const std::string& file);
void merge_catalog_file(GpuCatalog& catalog, const std::filesystem::path& file);

// The GPU called `name`: an id, alias or name, ignoring case, spaces, '-' and '_'. Throws
// PlanError naming --gpu, listing the catalog and the closest id.
const GpuSpec& find_gpu(const GpuCatalog& catalog, const std::string& name);

// The catalog as JSON, in the file's shape (for --list-gpus --json).
nlohmann::json catalog_to_json(const GpuCatalog& catalog);

}  // namespace lmf::planner
