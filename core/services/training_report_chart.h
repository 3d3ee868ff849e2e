// Inline SVG line charts for the training report (training_report.h).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lmf::services::report {

// Note [Chart geometry]: every chart is an SVG of kChartWidth x kChartHeight user units. The
// plot area is the rectangle from (kPlotLeft, kPlotTop) to (kChartWidth - kPlotRight,
// kChartHeight - kPlotBottom); the margins hold the tick labels, the x axis title and the
// legend. A point (x, y) on axes [x.min, x.max] and [y.min, y.max] is drawn at
//   px = kPlotLeft + (x - x.min) / (x.max - x.min) * plot width
//   py = kPlotTop  + (y.max - y) / (y.max - y.min) * plot height
// (SVG's y grows downwards), written with two decimals.
inline constexpr double kChartWidth = 640;
inline constexpr double kChartHeight = 300;
inline constexpr double kPlotLeft = 72;
inline constexpr double kPlotRight = 16;
inline constexpr double kPlotTop = 28;
inline constexpr double kPlotBottom = 44;

// An axis: its range and the values that get a tick and a label.
struct Axis {
  double min = 0;
  double max = 1;
  std::vector<double> ticks;
};

// A range with round ticks covering [low, high]: the tick step is 1, 2 or 5 times a power of
// ten, chosen so that about `target_ticks` steps span the data, and the range is widened to
// whole steps. With `whole_numbers` (training steps) the step is at least 1. An empty range
// (low == high) is widened around the value first. low and high must be finite.
Axis nice_axis(double low, double high, int target_ticks = 5, bool whole_numbers = false);

struct ChartSeries {
  std::string label;                              // the metric's name, shown in the legend
  std::vector<std::pair<double, double>> points;  // (step, value) in drawing order
};

// One <svg> element: axes with tick labels, one colored line per series, a legend when there
// is more than one series. A NaN or infinite value breaks its line (a gap); a finite point
// with no finite neighbour is drawn as a dot. The axes span every finite point. Text is
// HTML-escaped. An empty string when no series has a finite point.
std::string render_line_chart(std::string_view y_title, const std::vector<ChartSeries>& series);

// & < > " ' as character references: safe in HTML text, attributes and inline SVG.
std::string escape_html(std::string_view text);

}  // namespace lmf::services::report
