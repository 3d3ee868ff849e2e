// A minimal .npy (NumPy format 1.0) writer and float32 reader, so that tests can hand
// tensors to Python and read back what it computed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lmf::quant::testing {

// Writes a C-order array; `descr` is NumPy's dtype string, e.g. "<i4", "<f2", "<f4".
void write_npy(const std::filesystem::path& file, const std::string& descr,
               const std::vector<int64_t>& shape, const void* data, size_t bytes);

// Reads a C-order "<f4" array; throws std::runtime_error naming the file otherwise.
std::vector<float> read_npy_float32(const std::filesystem::path& file, std::vector<int64_t>* shape);

// Whether `python3 -c 'import numpy'` works here (asked once).
bool python_has_numpy();

// Runs `python3 SCRIPT FOLDER` (an independent decoder that writes FOLDER/dequantized.npy)
// and reads what it wrote; throws std::runtime_error with the command and its stderr when
// it fails.
std::vector<float> run_numpy_decoder(const std::string& script, const std::filesystem::path& folder,
                                     std::vector<int64_t>* shape);

}  // namespace lmf::quant::testing
