// The GPU catalog: the seeds' figures, the file users copy, and merging theirs over it.
#include "tests/planner/planner_test_support.h"

#include "core/config/config_error.h"
#include "core/planner/json_file.h"
#include "core/planner/plan_error.h"

#include <gtest/gtest.h>

#ifndef LMF_SOURCE_DIR
#error "LMF_SOURCE_DIR must name the source tree"
#endif

namespace lmf::planner::test {
namespace {

using config::ConfigError;

TEST(GpuCatalog, ConfigsFileIsTheBuiltInCatalog) {
  const nlohmann::json file =
      read_json_file(std::filesystem::path(LMF_SOURCE_DIR) / "configs" / "gpus.json");
  EXPECT_EQ(file, nlohmann::json::parse(builtin_catalog_json()))
      << "configs/gpus.json and core/planner/gpu_catalog_builtin.cpp differ";
}

TEST(GpuCatalog, HasTheGpusTheSeedsPrice) {
  const GpuCatalog catalog = builtin_catalog();
  for (const char* id : {"rtx-4090", "rtx-6000-ada", "a100-80gb", "h100-80gb", "v100-16gb",
                         "v100-32gb", "t4", "a10", "l40", "h200"})
    EXPECT_NO_THROW(find_gpu(catalog, id)) << id;
  // seed 000's table, seed 001's JD.com prices and cloud instances, seed 002's ranges.
  EXPECT_EQ(*find_gpu(catalog, "rtx-4090").price, 16000);
  EXPECT_EQ(*find_gpu(catalog, "rtx-6000-ada").price, 55000);
  EXPECT_EQ(*find_gpu(catalog, "a100-80gb").price, 90000);
  EXPECT_EQ(*find_gpu(catalog, "h100-80gb").price, 250000);
  EXPECT_EQ(*find_gpu(catalog, "v100-32gb").price, 23999);
  EXPECT_EQ(*find_gpu(catalog, "v100-16gb").price, 6999);
  EXPECT_DOUBLE_EQ(*find_gpu(catalog, "a10").cloud_per_hour, 9.5326);
  EXPECT_DOUBLE_EQ(*find_gpu(catalog, "t4").cloud_per_hour, 8.68);
  EXPECT_DOUBLE_EQ(*find_gpu(catalog, "v100-32gb").cloud_per_hour, 18.04);
  EXPECT_DOUBLE_EQ(*find_gpu(catalog, "a100-80gb").cloud_per_hour, 20);  // 15-25
  EXPECT_DOUBLE_EQ(*find_gpu(catalog, "h100-80gb").cloud_per_hour, 40);  // 30-50
  // What no seed prices is marked: an estimate with its source, or unknown.
  EXPECT_TRUE(find_gpu(catalog, "h200").price_estimate);
  EXPECT_FALSE(find_gpu(catalog, "l40").price.has_value());
  for (const GpuSpec& gpu : catalog.gpus) {
    EXPECT_FALSE(gpu.price_source.empty()) << gpu.id;
    EXPECT_FALSE(gpu.spec_source.empty()) << gpu.id;
    EXPECT_GT(gpu.tflops_16bit, 0) << gpu.id;
  }
}

TEST(GpuCatalog, FindsByIdAliasOrName) {
  const GpuCatalog catalog = builtin_catalog();
  EXPECT_EQ(find_gpu(catalog, "A100").id, "a100-80gb");
  EXPECT_EQ(find_gpu(catalog, "NVIDIA A100 80GB SXM").id, "a100-80gb");
  EXPECT_EQ(find_gpu(catalog, "h100_80gb").id, "h100-80gb");
  try {
    find_gpu(catalog, "h10");
    FAIL();
  } catch (const PlanError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("--gpu \"h10\": not in the GPU catalog"), std::string::npos);
    EXPECT_NE(message.find("did you mean \"h100-80gb\""), std::string::npos);
    EXPECT_NE(message.find("--gpu-catalog"), std::string::npos);
  }
}

TEST(GpuCatalog, UserFileOverridesAndAdds) {
  GpuCatalog catalog = builtin_catalog();
  merge_catalog_file(catalog, fixture("catalog-extra.json"));
  EXPECT_EQ(*find_gpu(catalog, "a100").price, 80000);
  EXPECT_EQ(find_gpu(catalog, "a100").memory_mib, 81920);  // the rest stays
  const GpuSpec a800 = find_gpu(catalog, "a800-80gb");
  EXPECT_EQ(a800.name, "NVIDIA A800 80GB");
  EXPECT_DOUBLE_EQ(a800.capacity_bytes(), 81920.0 * 1024 * 1024);
  EXPECT_EQ(catalog.gpus.size(), builtin_catalog().gpus.size() + 1);
}

TEST(GpuCatalog, MisspeltFieldIsRefused) {
  GpuCatalog catalog = builtin_catalog();
  try {
    merge_catalog_file(catalog, fixture("catalog-typo.json"));
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.pointer(), "/gpus/0/memroy_gb");
    EXPECT_NE(error.message().find("did you mean \"memory_gb\""), std::string::npos);
  }
}

TEST(GpuCatalog, NewGpuNeedsItsPeak) {
  GpuCatalog catalog = builtin_catalog();
  try {
    merge_catalog_file(catalog, fixture("catalog-incomplete.json"));
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.pointer(), "/gpus/0/tflops_16bit");
  }
}

}  // namespace
}  // namespace lmf::planner::test
