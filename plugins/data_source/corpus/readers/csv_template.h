// The template that renders a CSV row as text: "{name} was founded in {year} in {city}."
// `{column}` is replaced by the row's (cleaned) value of that column; "{{" and "}}" are
// literal braces. The empty template renders one "column: value" line per column.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace lmf::data {

class CsvTemplate {
 public:
  // Throws std::invalid_argument for an unclosed '{', a stray '}' or an empty "{}".
  explicit CsvTemplate(std::string_view text);

  // The column names the template uses, in order of appearance.
  std::vector<std::string> fields() const;

  // Binds the placeholders to columns; returns the names that are not columns.
  std::vector<std::string> bind(const std::vector<std::string>& columns);

  void render(const std::vector<std::string>& columns, const std::vector<std::string>& values,
              std::string& out) const;

 private:
  struct Piece {
    std::string text;  // literal text, or the field name
    bool field = false;
    std::size_t column = 0;  // once bound
  };
  std::vector<Piece> pieces_;
  bool empty_ = true;
};

}  // namespace lmf::data
