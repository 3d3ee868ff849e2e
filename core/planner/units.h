// Units, and how the planner writes and reads numbers.
//
// Note [Planner units]
// Memory is in bytes, shown in GB = 1e9 bytes: the seeds' unit ("70B x 2 bytes = 140 GB").
// GPU capacities come from the catalog in MiB as the driver reports them (an "80GB" A100
// is 81920 MiB = 85.9 GB). Parameter and token counts are plain numbers shown as K/M/B/T
// (1e3, 1e6, 1e9, 1e12). FLOPs are counted as multiply-adds x 2.
#pragma once

#include <string>

namespace lmf::planner {

inline constexpr double kGB = 1e9;
inline constexpr double kMiB = 1024.0 * 1024.0;

// "39.77 GB"; "1.13 TB" from 1 TB up, "57.3 MB" under 0.1 GB.
std::string format_bytes(double bytes);
// "70.55 B", "151.0 M", "8192".
std::string format_count(double count);
// "45 s", "12.3 min", "5.2 h", "3.4 days"; "-" for a value <= 0.
std::string format_duration(double seconds);
// "¥360,000" for CNY, "$1,200" for USD, "EUR 1,200" otherwise; "n/a" when unknown (< 0).
std::string format_money(double amount, const std::string& currency);
// A number in as few characters as keep 4 significant digits: 0.5195, 8192, 7.616e+09.
std::string format_number(double value);

// "70B", "7.6e9", "1.5T", "500M", "100k", "4096" -> the number. Throws PlanError naming
// `option` when the text is not a positive count.
double parse_count(const std::string& text, const std::string& option);

}  // namespace lmf::planner
