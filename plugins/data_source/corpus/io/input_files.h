// The files a source reads: its "inputs" (paths, folders, globs) expanded into one
// deterministic list (Note [Input order]).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lmf::data {

// Note [Input order]
// Inputs are taken in the order the config lists them. A file is itself; a folder stands
// for every visible regular file below it (recursively) whose extension is in
// `extensions` (all when empty); a glob (`*`, `?`, `**`) for every visible regular file
// it matches. The files of one input are sorted by their path's bytes, so the order never
// depends on the file system's directory order. A file reached twice is read once, where
// it first appears. Relative paths are resolved against the process's working directory.
struct InputFile {
  std::filesystem::path path;
  std::string name;  // as messages and record origins show it: the path as the input spelled it
  uint64_t size = 0;
};

struct InputProblem {
  std::string input;    // the input as configured
  std::string message;  // names the input and what is wrong
};

struct ExpandedInputs {
  std::vector<InputFile> files;
  std::vector<InputProblem> problems;  // missing files, globs and folders matching nothing
  uint64_t duplicates = 0;             // files reached by more than one input, read once
};

ExpandedInputs expand_inputs(const std::vector<std::string>& inputs,
                             const std::vector<std::string>& extensions);

}  // namespace lmf::data
