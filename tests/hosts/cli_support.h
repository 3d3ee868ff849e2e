// Runs the real `lmforge` executable as a user would, capturing its stdout, its stderr and
// its exit status separately.
#pragma once

#include <gtest/gtest.h>
#include "tests/support/temp_dir.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#ifndef LMF_LMFORGE_BIN
#error "LMF_LMFORGE_BIN must name the lmforge executable"
#endif
#ifndef LMF_TEST_PLUGIN_DIR
#error "LMF_TEST_PLUGIN_DIR must name the folder of the lmforge-test-stages plugin"
#endif
#ifndef LMF_TEST_FIXTURES_DIR
#error "LMF_TEST_FIXTURES_DIR must name the absolute path of tests/fixtures"
#endif

extern char** environ;

namespace lmf::cli_test {

namespace fs = std::filesystem;

inline fs::path pipeline_fixture(const std::string& relative) {
  return fs::path(LMF_TEST_FIXTURES_DIR) / "pipelines" / relative;
}

inline const std::string kPluginDir = LMF_TEST_PLUGIN_DIR;

using lmf::testing::Contains;

using lmf::testing::TempDir;

struct CliResult {
  int exit_code = -1;  // 128 + signal when killed by one
  std::string out;
  std::string err;
};

// "exit 3; stderr: ..." for failure messages.
inline std::string describe(const CliResult& result) {
  return "exit " + std::to_string(result.exit_code) + "\n--- stdout:\n" + result.out +
         "--- stderr:\n" + result.err;
}

inline std::string read_all(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs lmforge with `args`. The environment is the test's own, less LMFORGE_PLUGIN_PATH (so
// the caller decides where plugins come from), plus `env`. stdin is /dev/null.
inline CliResult run_lmforge(const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env = {}) {
  TempDir capture;
  const std::string out_file = (capture.path() / "stdout").string();
  const std::string err_file = (capture.path() / "stderr").string();

  std::vector<std::string> words{LMF_LMFORGE_BIN};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);

  std::vector<std::string> variables;
  for (char** entry = environ; *entry != nullptr; ++entry)
    if (std::strncmp(*entry, "LMFORGE_PLUGIN_PATH=", 20) != 0) variables.emplace_back(*entry);
  for (const auto& [name, value] : env) variables.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (std::string& variable : variables) envp.push_back(variable.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);

  CliResult result;
  if (spawned != 0) {
    ADD_FAILURE() << "cannot start " << argv[0] << ": " << std::strerror(spawned);
    return result;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      ADD_FAILURE() << "waitpid: " << std::strerror(errno);
      return result;
    }
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.exit_code = 128 + WTERMSIG(status);
  result.out = read_all(out_file);
  result.err = read_all(err_file);
  return result;
}

}  // namespace lmf::cli_test
