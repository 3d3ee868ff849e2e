// Runs a kernel over blocks of output columns, on oneTBB's threads where the build has it.
#pragma once

#include <cstdint>
#include <functional>

namespace lmf::quant {

// Calls body(begin, end) for [0, columns) cut into blocks of `block` columns (the last may
// be shorter). Blocks run concurrently; each column belongs to exactly one block, so a body
// that writes only its own columns needs no locking and gives the same result on any
// number of threads.
void parallel_columns(int64_t columns, int64_t block,
                      const std::function<void(int64_t, int64_t)>& body);

}  // namespace lmf::quant
