#pragma once

#include "io/input_files.h"
#include "readers/reader.h"
#include "source_config.h"

#include <memory>

namespace lmf::data {

// The reader of `config.kind`; `config` must outlive it.
std::unique_ptr<Reader> make_reader(std::vector<InputFile> files, const SourceConfig& config);

}  // namespace lmf::data
