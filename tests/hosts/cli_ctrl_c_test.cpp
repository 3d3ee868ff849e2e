// Ctrl-C during `lmforge run`: the running stage stops at its next check, later stages are
// skipped, the summary says "cancelled", and the exit code is 130.
#include "tests/hosts/cli_support.h"

#include <nlohmann/json.hpp>

#include <poll.h>
#include <unistd.h>
#include <csignal>

namespace {

using lmf::cli_test::pipeline_fixture;
using lmf::cli_test::TempDir;

// Reads `fd` until `text` has appeared (or the stream ends); returns all that was read.
std::string read_until(int fd, const std::string& text) {
  std::string seen;
  char buffer[4096];
  while (seen.find(text) == std::string::npos) {
    ssize_t got = read(fd, buffer, sizeof buffer);
    if (got <= 0) break;
    seen.append(buffer, static_cast<size_t>(got));
  }
  return seen;
}

std::string read_rest(int fd) {
  std::string seen;
  char buffer[4096];
  ssize_t got;
  while ((got = read(fd, buffer, sizeof buffer)) > 0) seen.append(buffer, static_cast<size_t>(got));
  return seen;
}

TEST(CliCtrlC, CancelsTheRunningStageAndSkipsTheRest) {
  TempDir temp;
  const std::string output = (temp.path() / "out").string();
  int err_pipe[2];
  ASSERT_EQ(pipe(err_pipe), 0);

  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(err_pipe[1], 2);
    close(err_pipe[0]);
    close(err_pipe[1]);
    const std::string file = pipeline_fixture("ctrl_c.json").string();
    const std::string set = "run.output_dir=" + output;
    execl(LMF_LMFORGE_BIN, LMF_LMFORGE_BIN, "run", file.c_str(), "--plugin-path",
          LMF_TEST_PLUGIN_DIR, "--set", set.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(err_pipe[1]);

  // The stage says it is waiting only once it runs: the signal arrives mid-stage.
  std::string err = read_until(err_pipe[0], "waiting for Ctrl-C");
  ASSERT_NE(err.find("waiting for Ctrl-C"), std::string::npos) << err;
  ASSERT_EQ(kill(pid, SIGINT), 0);
  err += read_rest(err_pipe[0]);
  close(err_pipe[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);

  ASSERT_TRUE(WIFEXITED(status)) << err;
  EXPECT_EQ(WEXITSTATUS(status), 130) << err;
  EXPECT_NE(err.find("stopping after the current step"), std::string::npos) << err;
  nlohmann::json summary =
      nlohmann::json::parse(lmf::cli_test::read_all(temp.path() / "out" / "summary.json"));
  EXPECT_EQ(summary["outcome"], "cancelled");
  ASSERT_EQ(summary["stages"].size(), 2u);
  EXPECT_EQ(summary["stages"][0]["status"], "cancelled");
  EXPECT_EQ(summary["stages"][1]["status"], "skipped");
}

}  // namespace
