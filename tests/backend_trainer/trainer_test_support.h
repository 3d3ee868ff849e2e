// Shared by the trainer's tests: a host whose services record metrics and can ask for
// cancellation at a chosen step, and packed token shards written with core's writer.
#pragma once

#include "backend_test_support.h"
#include "tensor_io.h"
#include "core/data/manifest.h"
#include "core/data/shard_writer.h"
#include "core/plugin/loaded_plugin.h"
#include "core/plugin/host_services.h"

#include <filesystem>
#include <map>
#include <random>
#include <vector>

namespace lmf::torch_backend::testing {

class RecordingServices final : public plugin::HostServices {
 public:
  int64_t cancel_after_step = -1;  // cancelled() turns true once train/loss has this step
  void reset_cancel() { cancel_ = false; }
  std::map<std::string, std::vector<std::pair<int64_t, double>>> metrics;
  std::vector<std::string> warnings;

  void log(lmf_log_level level, std::string_view, std::string_view message) override {
    if (level >= LMF_LOG_WARNING) warnings.emplace_back(message);
  }
  void metric(std::string_view, std::string_view name, double value, int64_t step) override {
    metrics[std::string(name)].emplace_back(step, value);
    if (name == "train/loss" && step == cancel_after_step) cancel_ = true;
  }
  uint64_t progress_begin(std::string_view, std::string_view, int64_t, std::string_view) override { return 1; }
  void progress_advance(uint64_t, int64_t) override {}
  void progress_end(uint64_t) override {}
  bool cancelled() override { return cancel_; }
  std::optional<std::string> config_value(std::string_view) override { return std::nullopt; }

 private:
  bool cancel_ = false;
};

// Points the SDK at `services` for the life of the test.
class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.services = &services_;
    sdk::g_host_context = {lmf::plugin::host_api(), &host_};
  }
  void TearDown() override { sdk::g_host_context = {}; }

  RecordingServices services_;
  lmf_host host_{};
};

// A shard folder of `documents` random documents of 20–60 ids below `vocab`, in the
// train split, and a few in the validation split.
inline void write_random_shards(const std::filesystem::path& folder, int64_t documents, int64_t vocab, uint64_t seed) {
  std::mt19937_64 random(seed);
  data::Manifest manifest;
  manifest.vocab_size = static_cast<uint64_t>(vocab);
  manifest.complete = true;
  for (const auto& [split, count] : {std::pair<std::string, int64_t>{"train", documents}, {"validation", 4}}) {
    std::filesystem::create_directories(folder / split);
    data::ShardWriter writer(folder / split, "00000", static_cast<uint64_t>(vocab));
    for (int64_t d = 0; d < count; ++d) {
      std::vector<int32_t> ids(20 + random() % 41);
      for (int32_t& id : ids) id = static_cast<int32_t>(random() % static_cast<uint64_t>(vocab));
      writer.append(ids, static_cast<uint64_t>(d));
    }
    manifest.splits[split].shards.push_back(writer.finish());
  }
  data::write_manifest(folder, manifest);
}

}  // namespace lmf::torch_backend::testing
