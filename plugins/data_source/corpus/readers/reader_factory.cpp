#include "readers/reader_factory.h"

#include "readers/csv_reader.h"
#include "readers/jsonl_reader.h"
#include "readers/text_reader.h"

namespace lmf::data {

std::unique_ptr<Reader> make_reader(std::vector<InputFile> files, const SourceConfig& config) {
  switch (config.kind) {
    case SourceKind::text:
      return std::make_unique<TextReader>(std::move(files), config);
    case SourceKind::csv:
      return std::make_unique<CsvReader>(std::move(files), config);
    default:
      return std::make_unique<JsonlReader>(std::move(files), config);
  }
}

}  // namespace lmf::data
