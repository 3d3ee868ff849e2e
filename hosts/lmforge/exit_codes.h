// The `lmforge` command's exit codes (docs/cli.md lists them for users).
#pragma once

namespace lmf::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,         // the work ran and failed (a stage failed, a file could not be written)
  kExitUsage = 2,          // the command line is wrong
  kExitInvalidConfig = 3,  // the configuration is wrong: nothing was run
  kExitPlugin = 4,         // a plugin or component asked for is not loaded (missing or refused)
  kExitCancelled = 130,    // stopped by Ctrl-C / SIGTERM (128 + SIGINT, as shells report it)
};

}  // namespace lmf::cli
