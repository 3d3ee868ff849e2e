#include "core/tokenizer/training_corpus.h"

#include "core/config/compose.h"
#include "core/config/config_error.h"
#include "core/config/schema.h"
#include "core/plugin/status.h"
#include "core/services/cancellation.h"

#include <glob.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>

namespace lmf::tokenizer {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Records asked of a data source per call.
constexpr size_t kRecordsPerBatch = 1024;

// Offset of the first byte that does not belong to well-formed UTF-8 (Unicode §3.9,
// table 3-7: no overlong forms, surrogates or code points past U+10FFFF), or npos.
size_t first_invalid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned lead = p[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t length = 0;
    unsigned low = 0x80, high = 0xBF;  // the second byte's range
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    } else {
      return i;
    }
    if (i + length > n || p[i + 1] < low || p[i + 1] > high) return i;
    for (size_t k = 2; k < length; ++k)
      if ((p[i + k] & 0xC0) != 0x80) return i;
    i += length;
  }
  return std::string_view::npos;
}

bool has_glob_characters(const std::string& input) {
  return input.find_first_of("*?[") != std::string::npos;
}

std::vector<fs::path> glob_files(const std::string& pattern, const std::string& label) {
  glob_t found{};
  const int rc = ::glob(pattern.c_str(), 0, nullptr, &found);
  std::vector<fs::path> files;
  if (rc == 0)
    for (size_t i = 0; i < found.gl_pathc; ++i)
      if (fs::is_regular_file(found.gl_pathv[i])) files.emplace_back(found.gl_pathv[i]);
  globfree(&found);
  if (files.empty())
    throw std::invalid_argument(label + ": no file matches (from " + fs::current_path().string() +
                                ")");
  return files;
}

// The visible regular files below `folder`, sorted by path.
std::vector<fs::path> folder_files(const fs::path& folder, const std::string& label) {
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(folder); it != fs::recursive_directory_iterator();
       ++it) {
    if (it->path().filename().string().starts_with(".")) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::invalid_argument(label + ": the folder holds no file");
  return files;
}

}  // namespace

TrainingCorpus::~TrainingCorpus() = default;

void TrainingCorpus::add_input(const std::string& input, const std::string& label) {
  const fs::path path = input;
  std::error_code error;
  if (fs::is_directory(path, error)) {
    for (const fs::path& file : folder_files(path, label)) add_text_file(file);
  } else if (fs::is_regular_file(path, error)) {
    if (path.extension() == ".json")
      add_data_source_file(path);
    else
      add_text_file(path);
  } else if (has_glob_characters(input)) {
    for (const fs::path& file : glob_files(input, label)) add_text_file(file);
  } else {
    throw std::invalid_argument(label + ": no such file or folder (from " +
                                fs::current_path().string() + ")");
  }
}

void TrainingCorpus::add_text_file(const fs::path& file) {
  // A file named twice (a folder and a glob over it) is read once, where it first appears.
  for (const Part& part : parts_)
    if (!part.source && part.file == file) return;
  parts_.push_back({file, nullptr});
  ++files_;
}

void TrainingCorpus::add_data_source_file(const fs::path& spec_file) {
  const std::string name = spec_file.string();
  json spec = config::load_config(spec_file).document;
  if (!spec.is_object() || !spec.contains("component") || !spec["component"].is_string())
    throw config::ConfigError(name, "/component",
                              "a data-source config is {\"component\": \"jsonl\", \"config\": "
                              "{...}}: expected the component's name");
  for (const auto& [key, value] : spec.items())
    if (key != "component" && key != "config")
      throw config::ConfigError(name, "/" + key, "unknown field (expected component and config)");
  if (!spec.contains("config")) spec["config"] = json::object();
  const plugin::ComponentRef ref =
      registry_.require(LMF_KIND_DATA_SOURCE, spec["component"].get<std::string>());
  const auto issues = config::validate(json::parse(ref.schema()), spec["config"], "/config");
  if (!issues.empty()) {
    std::string message;
    for (const config::ValidationIssue& issue : issues)
      message += (message.empty() ? "" : "\n  ") + issue.pointer + ": " + issue.message;
    throw config::ConfigError(name, "", message);
  }
  try {
    parts_.push_back({spec_file, std::make_unique<plugin::ComponentInstance>(ref, spec["config"])});
  } catch (const plugin::PluginError& e) {
    throw config::ConfigError(name, "/config", e.what());
  }
}

void TrainingCorpus::add_source(const json& spec) {
  const plugin::ComponentRef ref =
      registry_.require(LMF_KIND_DATA_SOURCE, spec.at("component").get<std::string>());
  parts_.push_back({"", std::make_unique<plugin::ComponentInstance>(ref, spec.at("config"))});
}

bool TrainingCorpus::next_line(std::string_view& text) {
  const Part& part = parts_[part_];
  if (!file_.is_open()) {
    file_.open(part.file, std::ios::binary);
    if (!file_)
      throw std::runtime_error("cannot read " + part.file.string() + ": " + std::strerror(errno));
    line_number_ = 0;
  }
  if (!std::getline(file_, line_)) {
    if (file_.bad()) throw std::runtime_error("reading " + part.file.string() + " failed");
    file_.close();
    return false;
  }
  ++line_number_;
  if (!file_.eof()) line_ += '\n';  // the line ending stays, as HF's lines_with_ending
  if (const size_t bad = first_invalid_utf8(line_); bad != std::string_view::npos)
    throw std::runtime_error(
        part.file.string() + ":" + std::to_string(line_number_) + ": not valid UTF-8 (byte " +
        std::to_string(bad + 1) +
        " of the line); repair the file, or read it through a data-source config with "
        "\"invalid_utf8\": \"replace\"");
  text = line_;
  return true;
}

bool TrainingCorpus::next_record(std::string_view& text) {
  const plugin::ComponentInstance& source = *parts_[part_].source;
  const auto& vtable = source.vtable<lmf_data_source_vtable>(LMF_KIND_DATA_SOURCE);
  while (batch_ == nullptr || in_batch_ == batch_->count) {
    plugin::check_status(vtable.next_batch(source.get(), kRecordsPerBatch, &batch_),
                         source.label() + ": next_batch");
    in_batch_ = 0;
    if (batch_ == nullptr || batch_->count == 0) {
      batch_ = nullptr;
      return false;
    }
  }
  const lmf_str_view record = batch_->records[in_batch_++]->text;
  text = std::string_view(record.data == nullptr ? "" : record.data, record.size);
  return true;
}

bool TrainingCorpus::next(std::string_view& text) {
  while (part_ < parts_.size()) {
    if (parts_[part_].source ? next_record(text) : next_line(text)) return true;
    ++part_;
  }
  return false;
}

int32_t TrainingCorpus::next_text(void* user, lmf_str_view* text) noexcept {
  auto* self = static_cast<TrainingCorpus*>(user);
  if (self->failure_) return 0;
  try {
    std::string_view next;
    if (!self->next(next)) return 0;
    *text = {next.data(), next.size()};
    ++self->texts_;
    self->bytes_ += next.size();
    return 1;
  } catch (...) {
    self->failure_ = std::current_exception();
    // The tokenizer stops at its next check instead of training on part of the corpus.
    services::Cancellation& cancellation = services::Cancellation::process();
    if (!cancellation.requested()) {
      self->requested_stop_ = true;
      try {
        cancellation.request();
      } catch (...) {  // a callback's failure is not the one to report
      }
    }
    return 0;
  }
}

void TrainingCorpus::rethrow_failure() {
  if (!failure_) return;
  // The stop was this corpus's, not the user's: what runs next is not stopped by it.
  if (requested_stop_) services::Cancellation::process().reset();
  requested_stop_ = false;
  std::rethrow_exception(failure_);
}

}  // namespace lmf::tokenizer
