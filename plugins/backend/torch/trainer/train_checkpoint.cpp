#include "trainer/train_checkpoint.h"

#include <lmf/sdk/error.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace lmf::torch_backend {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kStateFile = "trainer_state.json";

std::string step_name(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "step-%08lld", static_cast<long long>(step));
  return name;
}

// Committed checkpoints (step-N folders with a state file), oldest first.
std::vector<std::pair<int64_t, fs::path>> committed(const fs::path& root) {
  std::vector<std::pair<int64_t, fs::path>> found;
  std::error_code error;
  if (!fs::is_directory(root, error)) return found;
  for (const fs::directory_entry& entry : fs::directory_iterator(root)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("step-", 0) != 0 || !fs::exists(entry.path() / kStateFile)) continue;
    try {
      found.emplace_back(std::stoll(name.substr(5)), entry.path());
    } catch (const std::exception&) {
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

json progress_json(const TrainProgress& p) {
  return {{"step", p.step}, {"epoch", p.data.epoch}, {"example", p.data.cursor},
          {"tokens", p.tokens}, {"seconds", p.seconds}};
}

}  // namespace

CheckpointInfo save_checkpoint(const fs::path& output, const TrainProgress& progress,
                               const json& fingerprint, int64_t keep,
                               const std::function<void(const fs::path&)>& write_weights,
                               const std::function<void(const fs::path&)>& write_optimizer) {
  const fs::path root = output / "checkpoints";
  const fs::path target = root / step_name(progress.step);
  const fs::path staging = root / (".partial-" + step_name(progress.step) + "-" + std::to_string(::getpid()));
  std::error_code ignored;
  fs::remove_all(staging, ignored);
  try {
    fs::create_directories(staging);
    write_weights(staging);
    write_optimizer(staging / "optimizer.safetensors");
    std::ofstream state(staging / kStateFile);
    state << json{{"format", "lmforge-train-checkpoint"}, {"version", 1},
                  {"progress", progress_json(progress)}, {"fingerprint", fingerprint}}.dump(2) << "\n";
    if (!state.flush()) sdk::fail(LMF_ERR_IO, (staging / kStateFile).string() + ": write failed (disk full?)");
    state.close();
    fs::remove_all(target, ignored);  // a checkpoint of the same step from a run that stopped
    fs::rename(staging, target);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(staging, ignored);
    sdk::fail(LMF_ERR_IO, "checkpoint " + target.string() + ": " + e.what() +
                              " (the previous checkpoints are untouched)");
  } catch (const std::exception& e) {
    fs::remove_all(staging, ignored);
    sdk::fail(LMF_ERR_IO, "checkpoint " + target.string() + ": " + e.what() +
                              " (the previous checkpoints are untouched)");
  }
  auto all = committed(root);
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) fs::remove_all(all[i].second, ignored);
  return {target, progress, fingerprint};
}

std::optional<CheckpointInfo> latest_checkpoint(const fs::path& output) {
  auto all = committed(output / "checkpoints");
  if (all.empty()) return std::nullopt;
  const fs::path folder = all.back().second;
  std::ifstream in(folder / kStateFile);
  json state = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!state.is_object() || state.value("format", "") != "lmforge-train-checkpoint" || !state.contains("progress"))
    sdk::fail(LMF_ERR_DATA, (folder / kStateFile).string() + ": not a training checkpoint state of lmforge");
  const json& p = state["progress"];
  CheckpointInfo info;
  info.folder = folder;
  info.progress.step = p.value("step", int64_t{0});
  info.progress.data.epoch = p.value("epoch", int64_t{0});
  info.progress.data.cursor = p.value("example", int64_t{0});
  info.progress.tokens = p.value("tokens", int64_t{0});
  info.progress.seconds = p.value("seconds", 0.0);
  info.fingerprint = state.value("fingerprint", json::object());
  return info;
}

}  // namespace lmf::torch_backend
