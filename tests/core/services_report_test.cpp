// The training report: axis ranges worked out by hand, polyline coordinates from the chart
// geometry of Note [Chart geometry], gaps for non-finite values, escaping, no external
// references, and the JSON Lines reader it starts from.
#include "core/services/metrics.h"
#include "core/services/metrics_reader.h"
#include "core/services/training_report.h"
#include "core/services/training_report_chart.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace lmf::services {
namespace {

namespace fs = std::filesystem;
using lmf::testing::Contains;
using lmf::testing::TempDir;
using report::Axis;
using report::ChartSeries;
using Points = std::vector<std::pair<double, double>>;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The points="x,y x,y ..." of every <polyline class="series">, in order.
std::vector<Points> series_polylines(const std::string& svg) {
  std::vector<Points> lines;
  const std::regex polyline(R"re(<polyline class="series"[^>]*points="([^"]*)")re");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), polyline);
       it != std::sregex_iterator(); ++it) {
    Points points;
    std::istringstream in((*it)[1].str());
    for (std::string pair; in >> pair;) {
      const std::size_t comma = pair.find(',');
      points.emplace_back(std::stod(pair.substr(0, comma)), std::stod(pair.substr(comma + 1)));
    }
    lines.push_back(points);
  }
  return lines;
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t found = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++found;
  return found;
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void expect_ticks(const Axis& axis, double min, double max, const std::vector<double>& ticks) {
  EXPECT_NEAR(axis.min, min, 1e-12 * std::max(1.0, std::abs(min)));
  EXPECT_NEAR(axis.max, max, 1e-12 * std::max(1.0, std::abs(max)));
  ASSERT_EQ(axis.ticks.size(), ticks.size());
  for (std::size_t i = 0; i < ticks.size(); ++i)
    EXPECT_NEAR(axis.ticks[i], ticks[i], 1e-9 * std::abs(max - min)) << "tick " << i;
}

// ---- Axes and charts ------------------------------------------------------------------------

TEST(ReportChart, NiceAxisRoundsOutToWholeSteps) {
  // range 9.57 / 5 = 1.914 -> step 2
  expect_ticks(report::nice_axis(0.13, 9.7), 0, 10, {0, 2, 4, 6, 8, 10});
  // 100 / 6 = 16.7 -> step 20
  expect_ticks(report::nice_axis(0, 100, 6, true), 0, 100, {0, 20, 40, 60, 80, 100});
  // 2 / 6 = 0.33 -> 0.5, but training steps are whole: 1
  expect_ticks(report::nice_axis(1, 3, 6, true), 1, 3, {1, 2, 3});
  // a learning rate: 3e-5 / 5 = 6e-6 -> step 1e-5
  expect_ticks(report::nice_axis(0, 3e-5), 0, 3e-5, {0, 1e-5, 2e-5, 3e-5});
  // -0.7 .. 2.2: 2.9 / 5 = 0.58 -> step 1
  expect_ticks(report::nice_axis(-0.7, 2.2), -1, 3, {-1, 0, 1, 2, 3});
  // one value: widened to 0 +- 1, then 2 / 5 = 0.4 -> step 0.5
  expect_ticks(report::nice_axis(0, 0), -1, 1, {-1, -0.5, 0, 0.5, 1});
}

TEST(ReportChart, PolylinePointsFollowTheDocumentedGeometry) {
  // Data spanning exactly [0, 100] x [0, 10]: the axes are those ranges (first test).
  const Points data = {{0, 10}, {25, 7.5}, {50, 2}, {100, 0}};
  const std::string svg = report::render_line_chart("loss", {{"train/loss", data}});
  const std::vector<Points> lines = series_polylines(svg);
  ASSERT_EQ(lines.size(), 1u) << svg;
  ASSERT_EQ(lines[0].size(), data.size());

  const double plot_width = report::kChartWidth - report::kPlotLeft - report::kPlotRight;
  const double plot_height = report::kChartHeight - report::kPlotTop - report::kPlotBottom;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const double x = report::kPlotLeft + data[i].first / 100.0 * plot_width;
    const double y = report::kPlotTop + (10.0 - data[i].second) / 10.0 * plot_height;
    EXPECT_NEAR(lines[0][i].first, x, 0.005) << "point " << i;
    EXPECT_NEAR(lines[0][i].second, y, 0.005) << "point " << i;
  }
  // Hand-worked for the geometry of today: (25, 7.5) -> (72 + 138, 28 + 57).
  EXPECT_NEAR(lines[0][1].first, 210.0, 0.005);
  EXPECT_NEAR(lines[0][1].second, 85.0, 0.005);
  // Tick labels of both axes.
  EXPECT_TRUE(Contains(svg, ">80</text>"));
  EXPECT_TRUE(Contains(svg, ">8</text>"));
  EXPECT_TRUE(Contains(svg, ">step</text>"));
}

TEST(ReportChart, NonFiniteValuesAreGaps) {
  const Points data = {{0, 1}, {1, 2}, {2, kNan}, {3, 4}, {4, 5}, {5, kInf}, {6, 3}};
  const std::string svg = report::render_line_chart("loss", {{"train/loss", data}});
  const std::vector<Points> lines = series_polylines(svg);
  ASSERT_EQ(lines.size(), 2u) << svg;
  EXPECT_EQ(lines[0].size(), 2u);
  EXPECT_EQ(lines[1].size(), 2u);
  EXPECT_LT(lines[0][1].first, lines[1][0].first);
  // The lone point after the infinity is a dot; the axes ignore the non-finite values.
  EXPECT_EQ(count(svg, "<circle"), 1u);
  EXPECT_TRUE(Contains(svg, ">5</text>"));
  // No coordinate is NaN or infinite.
  const std::regex non_finite_coordinate(R"re(\b(points|cx|cy|x1?|y1?|x2|y2)="[^"]*(nan|inf))re");
  EXPECT_FALSE(std::regex_search(svg, non_finite_coordinate)) << svg;
}

TEST(ReportChart, SeveralSeriesGetALegendAndTheirOwnColors) {
  const std::string svg = report::render_line_chart(
      "loss", {{"train/loss", {{0, 3}, {10, 2}}}, {"eval/<loss>", {{0, 3.2}, {10, 2.4}}}});
  EXPECT_EQ(series_polylines(svg).size(), 2u);
  EXPECT_TRUE(Contains(svg, "class=\"legend\""));
  EXPECT_TRUE(Contains(svg, ">train/loss</text>"));
  EXPECT_TRUE(Contains(svg, ">eval/&lt;loss&gt;</text>"));
  EXPECT_EQ(report::render_line_chart("x", {{"only", {{0, kNan}}}}), "");
}

TEST(ReportChart, EscapeHtmlCoversTextAndAttributes) {
  EXPECT_EQ(report::escape_html(R"(<a href="x">&'</a>)"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
}

// ---- The report -----------------------------------------------------------------------------

std::vector<MetricRecord> loss_records() {
  return {{"trainer", "train/loss", 3.5, 1, 0}, {"trainer", "train/loss", 2.5, 2, 0},
          {"trainer", "eval/loss", 2.75, 2, 0}, {"trainer", "train/lr", 1e-5, 1, 0},
          {"trainer", "train/lr", 2e-5, 2, 0},  {"host", "stage/train/seconds", 12, 0, 0}};
}

TEST(TrainingReport, SummaryAlarmsAndOneChartPerRecordedGroup) {
  const nlohmann::json summary = {{"method", "lora"}, {"steps", 2}, {"final", {{"loss", 2.5}}}};
  const std::vector<RaisedAlarm> alarms = {{"train/loss", 1, 3.5, "above 3"}};
  const std::string html = render_training_report(loss_records(), summary, alarms);

  EXPECT_TRUE(Contains(html, "<tr><th>method</th><td>lora</td></tr>"));
  EXPECT_TRUE(Contains(html, "<tr><th>steps</th><td>2</td></tr>"));
  EXPECT_TRUE(Contains(html, "<tr><th>final</th><td>{&quot;loss&quot;:2.5}</td></tr>"));
  EXPECT_TRUE(Contains(html, "<tr><td>train/loss</td><td>1</td><td>3.5</td><td>above 3</td></tr>"));
  EXPECT_EQ(count(html, "<figure>"), 2u);  // loss and learning rate; nothing else recorded
  EXPECT_TRUE(Contains(html, "<figcaption>Loss</figcaption>"));
  EXPECT_TRUE(Contains(html, "<figcaption>Learning rate</figcaption>"));
  EXPECT_FALSE(Contains(html, "stage/train/seconds"));
}

TEST(TrainingReport, HasNoExternalReferences) {
  const std::string html = render_training_report(loss_records(), {{"model", "m"}}, {});
  EXPECT_FALSE(Contains(html, "http"));
  EXPECT_FALSE(Contains(html, "src="));
  EXPECT_FALSE(Contains(html, "href="));
  EXPECT_FALSE(Contains(html, "<script"));
  EXPECT_FALSE(Contains(html, "url("));
  EXPECT_FALSE(Contains(html, "@import"));
  EXPECT_TRUE(Contains(html, "<style>"));
  EXPECT_TRUE(Contains(html, "No alarm was raised."));
}

TEST(TrainingReport, SpecialCharactersAreEscaped) {
  const nlohmann::json summary = {{"model", "<script>alert('x')</script> & \"co\""}, {"a<b", 1}};
  const std::vector<RaisedAlarm> alarms = {{"loss<&>", 3, 1.0, "above \"0\""}};
  const std::string html = render_training_report({}, summary, alarms);
  EXPECT_FALSE(Contains(html, "<script>"));
  EXPECT_TRUE(
      Contains(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;"));
  EXPECT_TRUE(Contains(html, "<th>a&lt;b</th>"));
  EXPECT_TRUE(Contains(html, "<td>loss&lt;&amp;&gt;</td>"));
  EXPECT_TRUE(Contains(html, "<td>above &quot;0&quot;</td>"));
  EXPECT_TRUE(Contains(html, "No training metrics were recorded."));
}

TEST(TrainingReport, SummaryMustBeAnObject) {
  EXPECT_THROW(render_training_report({}, nlohmann::json::array(), {}), std::invalid_argument);
}

TEST(TrainingReport, WrittenFromTheMetricsFileWithReplayedAlarms) {
  TempDir temp;
  const fs::path metrics = temp.path() / "metrics.jsonl";
  {
    MetricsSink sink(metrics);
    sink.record("trainer", "train/loss", 3.25, 1);
    sink.record("trainer", "train/loss", kNan, 2);
    sink.record("trainer", "train/loss", 2.0, 3);
    sink.record("trainer", "train/loss", 1.75, 4);
    // Resumed from step 3: step 4 again, the later record counts.
    sink.record("trainer", "train/loss", 1.5, 4);
    sink.record("trainer", "train/loss", 1.25, 5);
  }
  const fs::path html_file = temp.path() / "report.html";
  write_training_report(metrics, {{"run", "test"}}, html_file);
  EXPECT_FALSE(fs::exists(temp.path() / "report.html.tmp"));
  const std::string html = read_text(html_file);

  // Alarms replayed through the seed's table: above 3 at step 1, not a number at step 2.
  EXPECT_TRUE(
      Contains(html, "<tr><td>train/loss</td><td>1</td><td>3.25</td><td>above 3</td></tr>"));
  EXPECT_TRUE(Contains(html, "<tr><td>train/loss</td><td>2</td><td>nan</td><td>not a number</td>"));
  // A dot for step 1 (its neighbour is NaN), then one line over steps 3, 4, 5.
  const std::vector<Points> lines = series_polylines(html);
  ASSERT_EQ(lines.size(), 1u);
  ASSERT_EQ(lines[0].size(), 3u);
  EXPECT_EQ(count(html, "<circle"), 1u);

  // With the rule removed, no alarm.
  write_training_report(metrics, {{"run", "test"}}, html_file, {});
  EXPECT_TRUE(Contains(read_text(html_file), "No alarm was raised."));
}

TEST(TrainingReport, UnwritableOutputIsNamed) {
  TempDir temp;
  const fs::path metrics = temp.path() / "metrics.jsonl";
  std::ofstream(metrics) << "";
  const fs::path html_file = temp.path() / "missing" / "report.html";
  try {
    write_training_report(metrics, nlohmann::json::object(), html_file);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(Contains(e.what(), (temp.path() / "missing" / "report.html.tmp").string()));
  }
}

// ---- Reading metrics.jsonl ------------------------------------------------------------------

TEST(ReportMetricsReader, NonFiniteMarkersBecomeValues) {
  TempDir temp;
  const fs::path file = temp.path() / "metrics.jsonl";
  std::ofstream(file)
      << R"({"time":1.5,"source":"t","name":"a","value":0.25,"step":1})"
         "\n"
      << R"({"time":2,"source":"t","name":"a","value":null,"nonfinite":"nan","step":2})"
         "\n"
      << "\n"
      << R"({"time":3,"source":"t","name":"b","value":null,"nonfinite":"inf","step":-3})"
         "\n"
      << R"({"time":4,"source":"t","name":"b","value":null,"nonfinite":"-inf","step":4})"
         "\n"
      << R"({"time":5,"source":"t","name":"b","value":1)";  // cut short by a crash
  const std::vector<MetricRecord> records = read_metrics_jsonl(file);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].source, "t");
  EXPECT_EQ(records[0].name, "a");
  EXPECT_EQ(records[0].value, 0.25);
  EXPECT_EQ(records[0].step, 1);
  EXPECT_EQ(records[0].time, 1.5);
  EXPECT_TRUE(std::isnan(records[1].value));
  EXPECT_EQ(records[2].value, kInf);
  EXPECT_EQ(records[2].step, -3);
  EXPECT_EQ(records[3].value, -kInf);
}

TEST(ReportMetricsReader, BadLinesAreNamedByFileAndLine) {
  TempDir temp;
  const fs::path file = temp.path() / "metrics.jsonl";
  auto error_for = [&](const std::string& text) -> std::string {
    std::ofstream(file) << text;
    try {
      read_metrics_jsonl(file);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "no error";
  };
  const std::string good = R"({"name":"a","value":1,"step":1})"
                           "\n";
  EXPECT_EQ(error_for(good + "{oops\n"), file.string() + ":2: not valid JSON");
  EXPECT_EQ(error_for(good + good +
                      R"({"name":"a","step":1})"
                      "\n"),
            file.string() + ":3: missing \"value\"");
  EXPECT_EQ(error_for(R"({"name":"a","value":"1","step":1})"
                      "\n"),
            file.string() + ":1: \"value\" is neither a number nor null");
  EXPECT_EQ(error_for(R"({"name":"a","value":1,"step":1.5})"
                      "\n"),
            file.string() + ":1: \"step\" is not an integer");
  EXPECT_EQ(error_for(R"({"name":"a","value":null,"nonfinite":"big","step":1})"
                      "\n"),
            file.string() + ":1: \"nonfinite\" is \"big\", expected nan, inf or -inf");
  EXPECT_TRUE(Contains(error_for(""), "no error"));

  try {
    read_metrics_jsonl(temp.path() / "absent.jsonl");
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(Contains(e.what(), (temp.path() / "absent.jsonl").string()));
    EXPECT_TRUE(Contains(e.what(), "No such file or directory"));
  }
}

}  // namespace
}  // namespace lmf::services
