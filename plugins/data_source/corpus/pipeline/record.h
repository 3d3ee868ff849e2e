// A record inside the pipeline: the texts the cleaning stages work on, and how they become
// the record's text and structured fields at the end (Note [Parts and rendering]).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lmf::data {

struct Record;

// Note [Parts and rendering]
// A record's cleanable texts are its `parts`: the one text of a plain record, the prompt
// and the response, each message's content, each CSV column's value. Transforming stages
// (normalization, URL stripping, PII masking, …) clean every part, so a structured record
// never carries an unmasked e-mail address in its fields. Judging stages (quality filter,
// deduplication) look at the rendered text: what the reader's Renderer makes of the parts
// (the text itself, "prompt\nresponse", one "role: content" line per message, the CSV
// template filled in). At the end the renderer also writes fields_json.
class Renderer {
 public:
  virtual ~Renderer() = default;
  virtual void render_text(const Record& record, std::string& out) const = 0;
  // The JSON object for lmf_record::fields_json, or "" for a record without structure.
  virtual std::string render_fields(const Record& record) const = 0;
};

struct Record {
  uint64_t id = 0;
  std::string origin;  // "file:line"
  std::vector<std::string> parts;
  // What the renderer needs besides the parts (messages with their other members, kept
  // fields, the CSV column names); null for plain text.
  nlohmann::json structure;
  const Renderer* renderer = nullptr;  // null: the text is parts[0]
  std::shared_ptr<const void> owner;   // keeps a per-file renderer alive

  // Scratch of a stateful stage: computed in parallel, consumed by its serial decision.
  uint64_t key = 0;
  std::vector<uint32_t> signature;

  // The rendered text; valid until the parts change.
  const std::string& text() {
    if (renderer == nullptr) return parts.empty() ? empty_text() : parts.front();
    if (stale_) {
      rendered_.clear();
      renderer->render_text(*this, rendered_);
      stale_ = false;
    }
    return rendered_;
  }
  // Transforming stages call this after changing a part.
  void parts_changed() { stale_ = true; }

 private:
  static const std::string& empty_text() {
    static const std::string empty;
    return empty;
  }
  std::string rendered_;
  bool stale_ = true;
};

}  // namespace lmf::data
