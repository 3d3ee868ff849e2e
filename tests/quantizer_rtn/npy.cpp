#include "tests/quantizer_rtn/npy.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace lmf::quant::testing {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

// Python's tuple syntax: "(3, 4)", and "(3,)" for one extent.
std::string shape_tuple(const std::vector<int64_t>& shape) {
  if (shape.size() == 1) return "(" + std::to_string(shape[0]) + ",)";
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + ")";
}

}  // namespace

void write_npy(const std::filesystem::path& file, const std::string& descr,
               const std::vector<int64_t>& shape, const void* data, size_t bytes) {
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_tuple(shape) + ", }";
  // Magic (6) + version (2) + length (2) + header, padded with spaces to 64 bytes, '\n' last.
  const size_t total = (10 + header.size() + 1 + 63) / 64 * 64;
  header.append(total - 10 - header.size() - 1, ' ');
  header += '\n';
  std::ofstream out(file, std::ios::binary);
  out.write(kMagic, 6);
  const char version[2] = {1, 0};
  out.write(version, 2);
  const uint16_t length = static_cast<uint16_t>(header.size());
  const char length_bytes[2] = {static_cast<char>(length & 0xff), static_cast<char>(length >> 8)};
  out.write(length_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

std::vector<float> read_npy_float32(const std::filesystem::path& file,
                                    std::vector<int64_t>* shape) {
  std::ifstream in(file, std::ios::binary);
  char preamble[10];
  if (!in.read(preamble, 10) || std::memcmp(preamble, kMagic, 6) != 0 || preamble[6] != 1)
    throw std::runtime_error(file.string() + ": not a version 1 .npy file");
  const size_t length = static_cast<unsigned char>(preamble[8]) |
                        static_cast<size_t>(static_cast<unsigned char>(preamble[9])) << 8;
  std::string header(length, '\0');
  in.read(header.data(), static_cast<std::streamsize>(length));
  if (header.find("'descr': '<f4'") == std::string::npos ||
      header.find("'fortran_order': False") == std::string::npos)
    throw std::runtime_error(file.string() + ": expected a C-order '<f4' array, header " + header);
  const size_t open = header.find('(', header.find("'shape'"));
  std::istringstream extents(header.substr(open + 1, header.find(')', open) - open - 1));
  shape->clear();
  int64_t count = 1;
  for (std::string part; std::getline(extents, part, ',');)
    if (part.find_first_not_of(' ') != std::string::npos) {
      shape->push_back(std::stoll(part));
      count *= shape->back();
    }
  std::vector<float> values(static_cast<size_t>(count));
  if (!in.read(reinterpret_cast<char*>(values.data()),
               static_cast<std::streamsize>(values.size() * sizeof(float))))
    throw std::runtime_error(file.string() + ": shorter than its header says");
  return values;
}

bool python_has_numpy() {
  static const bool found = std::system("python3 -c 'import numpy' > /dev/null 2>&1") == 0;
  return found;
}

std::vector<float> run_numpy_decoder(const std::string& script, const std::filesystem::path& folder,
                                     std::vector<int64_t>* shape) {
  const std::string command =
      "python3 " + script + " " + folder.string() + " 2> " + (folder / "stderr.txt").string();
  if (std::system(command.c_str()) != 0) {
    std::ifstream errors(folder / "stderr.txt");
    std::stringstream text;
    text << errors.rdbuf();
    throw std::runtime_error(command + " failed:\n" + text.str());
  }
  return read_npy_float32(folder / "dequantized.npy", shape);
}

}  // namespace lmf::quant::testing
