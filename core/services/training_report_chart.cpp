#include "core/services/training_report_chart.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

namespace lmf::services::report {
namespace {

constexpr double kPlotWidth = kChartWidth - kPlotLeft - kPlotRight;
constexpr double kPlotHeight = kChartHeight - kPlotTop - kPlotBottom;
constexpr std::array<const char*, 6> kColors = {"#1f77b4", "#d62728", "#2ca02c",
                                                "#9467bd", "#ff7f0e", "#8c564b"};

std::string number(double value, const char* format) {
  char text[48];
  std::snprintf(text, sizeof(text), format, value);
  return text;
}
std::string coordinate(double value) {
  return number(value, "%.2f");
}
// %g: six significant digits, no trailing zeros ("0.2", "3e-05", "30600").
std::string tick_label(double value) {
  return number(value, "%g");
}

double x_pixel(const Axis& x, double value) {
  return kPlotLeft + (value - x.min) / (x.max - x.min) * kPlotWidth;
}
double y_pixel(const Axis& y, double value) {
  return kPlotTop + (y.max - value) / (y.max - y.min) * kPlotHeight;
}

void draw_axes(std::string& svg, const Axis& x, const Axis& y, std::string_view y_title) {
  const double right = kPlotLeft + kPlotWidth;
  const double bottom = kPlotTop + kPlotHeight;
  for (double tick : y.ticks) {
    const std::string py = coordinate(y_pixel(y, tick));
    svg += "<line class=\"grid\" x1=\"" + coordinate(kPlotLeft) + "\" y1=\"" + py + "\" x2=\"" +
           coordinate(right) + "\" y2=\"" + py + "\"/>";
    svg += "<text class=\"tick\" x=\"" + coordinate(kPlotLeft - 6) + "\" y=\"" + py +
           "\" text-anchor=\"end\" dominant-baseline=\"middle\">" + tick_label(tick) + "</text>";
  }
  for (double tick : x.ticks) {
    const std::string px = coordinate(x_pixel(x, tick));
    svg += "<line class=\"axis\" x1=\"" + px + "\" y1=\"" + coordinate(bottom) + "\" x2=\"" + px +
           "\" y2=\"" + coordinate(bottom + 5) + "\"/>";
    svg += "<text class=\"tick\" x=\"" + px + "\" y=\"" + coordinate(bottom + 18) +
           "\" text-anchor=\"middle\">" + tick_label(tick) + "</text>";
  }
  svg += "<polyline class=\"axis\" points=\"" + coordinate(kPlotLeft) + "," + coordinate(kPlotTop) +
         " " + coordinate(kPlotLeft) + "," + coordinate(bottom) + " " + coordinate(right) + "," +
         coordinate(bottom) + "\"/>";
  svg += "<text class=\"title\" x=\"" + coordinate(kPlotLeft + kPlotWidth / 2) + "\" y=\"" +
         coordinate(kChartHeight - 6) + "\" text-anchor=\"middle\">step</text>";
  svg += "<text class=\"title\" x=\"" + coordinate(kPlotLeft) + "\" y=\"" +
         coordinate(kPlotTop - 12) + "\">" + escape_html(y_title) + "</text>";
}

// Consecutive finite points form one line; a lone one becomes a dot.
void draw_series(std::string& svg, const Axis& x, const Axis& y, const ChartSeries& series,
                 const char* color) {
  std::vector<std::pair<double, double>> run;
  auto flush = [&] {
    if (run.size() == 1) {
      svg += "<circle cx=\"" + coordinate(run[0].first) + "\" cy=\"" + coordinate(run[0].second) +
             "\" r=\"2.5\" fill=\"" + color + "\"/>";
    } else if (run.size() > 1) {
      svg += "<polyline class=\"series\" stroke=\"" + std::string(color) + "\" points=\"";
      for (std::size_t i = 0; i < run.size(); ++i) {
        svg += (i > 0 ? " " : "") + coordinate(run[i].first) + "," + coordinate(run[i].second);
      }
      svg += "\"/>";
    }
    run.clear();
  };
  for (const auto& [step, value] : series.points) {
    if (std::isfinite(value) && std::isfinite(step)) {
      run.emplace_back(x_pixel(x, step), y_pixel(y, value));
    } else {
      flush();
    }
  }
  flush();
}

void draw_legend(std::string& svg, const std::vector<ChartSeries>& series) {
  double x = kChartWidth - kPlotRight;
  // Right-aligned in the top margin, last entry first; about 7 units per character.
  for (std::size_t i = series.size(); i-- > 0;) {
    const double width = 24 + 7.0 * static_cast<double>(series[i].label.size());
    x -= width;
    const std::string y = coordinate(kPlotTop - 16);
    svg += "<line x1=\"" + coordinate(x) + "\" y1=\"" + y + "\" x2=\"" + coordinate(x + 16) +
           "\" y2=\"" + y + "\" stroke=\"" + kColors[i % kColors.size()] +
           "\" stroke-width=\"2\"/>";
    svg += "<text class=\"legend\" x=\"" + coordinate(x + 20) + "\" y=\"" + y +
           "\" dominant-baseline=\"middle\">" + escape_html(series[i].label) + "</text>";
  }
}

}  // namespace

Axis nice_axis(double low, double high, int target_ticks, bool whole_numbers) {
  if (low > high) std::swap(low, high);
  // A range too narrow to divide (one value, or differences lost to rounding) is widened
  // by a tenth of the value around it.
  if (high - low <= 1e-9 * std::max(std::abs(low), std::abs(high))) {
    const double middle = low / 2 + high / 2;
    const double half = middle == 0 ? 1 : std::abs(middle) * 0.1;
    low = middle - half;
    high = middle + half;
  }
  const double raw_step = (high - low) / std::max(target_ticks, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw_step)));
  const double fraction = raw_step / magnitude;
  double step = (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude;
  if (whole_numbers) step = std::max(step, 1.0);

  // Ticks are whole multiples of the step, so 0 is exactly 0 and nothing accumulates.
  const double first = std::floor(low / step + 1e-9);
  const double last = std::ceil(high / step - 1e-9);
  Axis axis{first * step, last * step, {}};
  const int intervals = static_cast<int>(std::min(last - first, 100.0));
  for (int i = 0; i <= intervals; ++i) axis.ticks.push_back((first + i) * step);
  return axis;
}

std::string render_line_chart(std::string_view y_title, const std::vector<ChartSeries>& series) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  double x_low = inf, x_high = -inf, y_low = inf, y_high = -inf;
  for (const ChartSeries& one : series) {
    for (const auto& [step, value] : one.points) {
      if (!std::isfinite(step) || !std::isfinite(value)) continue;
      x_low = std::min(x_low, step);
      x_high = std::max(x_high, step);
      y_low = std::min(y_low, value);
      y_high = std::max(y_high, value);
    }
  }
  if (x_low == inf) return "";
  const Axis x = nice_axis(x_low, x_high, 6, true);
  const Axis y = nice_axis(y_low, y_high, 5);

  std::string svg = "<svg class=\"chart\" viewBox=\"0 0 " + tick_label(kChartWidth) + " " +
                    tick_label(kChartHeight) + "\" width=\"" + tick_label(kChartWidth) +
                    "\" height=\"" + tick_label(kChartHeight) + "\" role=\"img\">";
  draw_axes(svg, x, y, y_title);
  for (std::size_t i = 0; i < series.size(); ++i) {
    draw_series(svg, x, y, series[i], kColors[i % kColors.size()]);
  }
  if (series.size() > 1) draw_legend(svg, series);
  svg += "</svg>";
  return svg;
}

std::string escape_html(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&#39;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

}  // namespace lmf::services::report
