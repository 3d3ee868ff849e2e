// The corpus a tokenizer trains on (the tokenizer.train stage, `lmforge tokenizer train`),
// handed to the tokenizer as an lmf_text_stream.
//
// Each input is one of:
// - a plain text file, a folder (its visible files, recursively, sorted by path) or a glob
//   (`*`, `?`, `[...]`, sorted): each line with its line ending is one text, as Hugging
//   Face's tokenizer.train(files) reads files. The text must be UTF-8; a line that is not
//   stops training with its file and line.
// - a data-source config, a `.json` file holding {"component": "jsonl", "config": {...}}
//   (the shape of data.prepare's "source"): each record's cleaned text is one text.
// A data source can also be given as that object itself (the stage's "source").
#pragma once

#include "core/plugin/component_instance.h"
#include "core/plugin/registry.h"

#include <lmf/lmf.h>
#include <nlohmann/json.hpp>

#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace lmf::tokenizer {

class TrainingCorpus {
 public:
  explicit TrainingCorpus(const plugin::PluginRegistry& registry) : registry_(registry) {}
  ~TrainingCorpus();
  TrainingCorpus(const TrainingCorpus&) = delete;
  TrainingCorpus& operator=(const TrainingCorpus&) = delete;

  // Resolve an input now, so that a missing file or a bad config fails before any work:
  // std::invalid_argument for a path that names nothing, config::ConfigError for a
  // data-source config file that is wrong, plugin::PluginError when its component is
  // missing. `label` names the input in messages ("--input corpus/*.txt").
  void add_input(const std::string& input, const std::string& label);
  // A data source given as {"component": ..., "config": {...}}, its config already
  // validated against the component's schema (plugin::validate_component_specs).
  void add_source(const nlohmann::json& spec);

  // The stream for lmf_tokenizer_vtable::train; valid while this object lives.
  lmf_text_stream* stream() { return &stream_; }

  // A reading failure (an unreadable file, invalid UTF-8, a data source's error) cannot be
  // thrown through the plugin that pulls the stream: the stream ends, asks the host to
  // cancel, and this withdraws that request and rethrows it once train has returned.
  void rethrow_failure();

  uint64_t texts() const { return texts_; }
  uint64_t bytes() const { return bytes_; }
  size_t files() const { return files_; }
  size_t sources() const { return parts_.size() - files_; }

 private:
  struct Part {
    std::filesystem::path file;                         // a text file, or
    std::unique_ptr<plugin::ComponentInstance> source;  // a data source
  };
  void add_text_file(const std::filesystem::path& file);
  void add_data_source_file(const std::filesystem::path& spec_file);

  // The next text, or false at the end; throws on a reading failure.
  bool next(std::string_view& text);
  bool next_line(std::string_view& text);
  bool next_record(std::string_view& text);
  static int32_t next_text(void* user, lmf_str_view* text) noexcept;

  const plugin::PluginRegistry& registry_;
  std::vector<Part> parts_;
  size_t files_ = 0;
  size_t part_ = 0;  // the part being read
  std::ifstream file_;
  uint64_t line_number_ = 0;
  std::string line_;
  const lmf_record_batch* batch_ = nullptr;
  size_t in_batch_ = 0;
  uint64_t texts_ = 0, bytes_ = 0;
  std::exception_ptr failure_;
  bool requested_stop_ = false;
  lmf_text_stream stream_{this, &TrainingCorpus::next_text};
};

}  // namespace lmf::tokenizer
