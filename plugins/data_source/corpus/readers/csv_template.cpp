#include "readers/csv_template.h"

#include <stdexcept>

namespace lmf::data {

CsvTemplate::CsvTemplate(std::string_view text) : empty_(text.empty()) {
  std::string literal;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      literal.push_back(c);
      ++i;
    } else if (c == '{') {
      const std::size_t close = text.find('}', i + 1);
      if (close == std::string_view::npos)
        throw std::invalid_argument("template: '{' at offset " + std::to_string(i) +
                                    " is not closed");
      if (close == i + 1)
        throw std::invalid_argument("template: empty \"{}\" at offset " + std::to_string(i));
      if (!literal.empty()) pieces_.push_back({std::move(literal), false, 0});
      literal.clear();
      pieces_.push_back({std::string(text.substr(i + 1, close - i - 1)), true, 0});
      i = close;
    } else if (c == '}') {
      throw std::invalid_argument("template: '}' at offset " + std::to_string(i) +
                                  " closes nothing (write \"}}\" for a brace)");
    } else {
      literal.push_back(c);
    }
  }
  if (!literal.empty()) pieces_.push_back({std::move(literal), false, 0});
}

std::vector<std::string> CsvTemplate::fields() const {
  std::vector<std::string> out;
  for (const Piece& piece : pieces_)
    if (piece.field) out.push_back(piece.text);
  return out;
}

std::vector<std::string> CsvTemplate::bind(const std::vector<std::string>& columns) {
  std::vector<std::string> unknown;
  for (Piece& piece : pieces_) {
    if (!piece.field) continue;
    bool found = false;
    for (std::size_t i = 0; i < columns.size() && !found; ++i)
      if (columns[i] == piece.text) {
        piece.column = i;
        found = true;
      }
    if (!found) unknown.push_back(piece.text);
  }
  return unknown;
}

void CsvTemplate::render(const std::vector<std::string>& columns,
                         const std::vector<std::string>& values, std::string& out) const {
  out.clear();
  if (empty_) {
    for (std::size_t i = 0; i < columns.size() && i < values.size(); ++i) {
      if (i > 0) out += '\n';
      out += columns[i];
      out += ": ";
      out += values[i];
    }
    return;
  }
  for (const Piece& piece : pieces_) {
    if (!piece.field)
      out += piece.text;
    else if (piece.column < values.size())
      out += values[piece.column];
  }
}

}  // namespace lmf::data
