// The one exception type of the checkpoint library: every refusal of a file, a folder or
// a write, with a message that names the file and the tensor or field at fault.
#pragma once

#include <stdexcept>

namespace lmf::checkpoint {

class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace lmf::checkpoint
