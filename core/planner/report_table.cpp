#include "core/planner/report_table.h"

#include "core/planner/presets.h"
#include "core/planner/units.h"

#include <cstdio>
#include <iomanip>
#include <sstream>

namespace lmf::planner {
namespace {

// Columns by what the terminal shows: "¥" is two bytes but one column.
std::size_t columns(const std::string& text) {
  std::size_t count = 0;
  for (unsigned char c : text) count += (c & 0xC0) != 0x80;
  return count;
}

std::string right(const std::string& text, std::size_t width) {
  const std::size_t used = columns(text);
  return used >= width ? text : std::string(width - used, ' ') + text;
}

std::string left(const std::string& text, std::size_t width) {
  const std::size_t used = columns(text);
  return used >= width ? text : text + std::string(width - used, ' ');
}

std::string percent(double part, double whole) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%.0f%%", 100 * part / whole);
  return buffer;
}

std::string rate(double tokens_per_second) {
  char buffer[32];
  if (tokens_per_second >= 1e4)
    std::snprintf(buffer, sizeof buffer, "%.0f", tokens_per_second);
  else
    std::snprintf(buffer, sizeof buffer, "%.1f", tokens_per_second);
  return buffer;
}

std::string money(double amount, const std::string& currency, bool estimated) {
  if (amount < 0) return "n/a";
  return format_money(amount, currency) + (estimated ? "*" : "");
}

std::string short_layout(const Layout& layout) {
  std::string text = "TP" + std::to_string(layout.tp) + " PP" + std::to_string(layout.pp) + " DP" +
                     std::to_string(layout.dp);
  if (layout.ep > 1) text += " EP" + std::to_string(layout.ep);
  return text;
}

std::string method_line(const Plan& plan) {
  const PlanSettings& s = plan.settings;
  switch (s.method) {
    case Method::inference:
      return "inference";
    case Method::lora:
      return "LoRA fine-tuning";
    case Method::qlora:
      return "QLoRA fine-tuning";
    case Method::full:
      return "full fine-tuning";
    case Method::pretrain:
      return "continued pretraining (all parameters)";
  }
  return "";
}

void write_model(std::ostream& out, const Plan& plan) {
  const ModelSpec& spec = plan.model.spec;
  const ParamCounts& p = plan.model.params;
  out << "Model   " << spec.name;
  if (spec.has_architecture()) out << " (" << spec.family << ", " << spec.source << ")";
  out << "\n        " << format_count(p.total) << " parameters";
  if (spec.is_moe()) out << ", " << format_count(p.active) << " active per token";
  if (plan.model.lora.total > 0) out << ", " << format_count(plan.model.lora.total) << " LoRA";
  out << "\n        " << describe_shape(spec) << "\n";
  out << "Method  " << method_line(plan);
  if (!plan.assumptions.empty()) out << ": " << plan.assumptions.front();
  out << "\n";
}

void write_memory(std::ostream& out, const Plan& plan) {
  const MemoryEstimate& m = plan.memory;
  out << "\nMemory per GPU at " << plan.layout.describe() << " (" << plan.layout.gpus() << " GPU"
      << (plan.layout.gpus() == 1 ? "" : "s")
      << (plan.layout_searched ? ", the fewest that fit" : "") << ")";
  if (plan.layout.pp > 1)
    out << ", pipeline stage " << m.stage << " (" << m.stage_layers << " layers)";
  out << "\n";
  auto line = [&](const char* name, double bytes, bool always = false) {
    if (bytes <= 0 && !always) return;
    out << "  " << left(name, 26) << right(format_bytes(bytes), 12) << "\n";
  };
  line("weights", m.weights, true);
  line("ZeRO-3 gathered layer", m.zero3_gathered);
  if (is_training(plan.settings.method)) {
    line("gradients", m.gradients, true);
    line("optimizer states", m.optimizer, true);
  }
  if (!is_training(plan.settings.method)) line("KV cache", m.kv_cache, true);
  line("activations", m.activations, true);
  line("framework overhead", m.overhead, true);
  out << "  " << std::left << std::setw(26) << "total" << std::right << std::setw(12)
      << format_bytes(m.total()) << "\n";
  if (m.host_bytes > 0)
    out << "  " << std::left << std::setw(26) << "CPU memory (offloaded)" << std::right
        << std::setw(12) << format_bytes(m.host_bytes) << " per GPU, "
        << format_bytes(m.host_bytes * std::min(plan.layout.gpus(), 8)) << " per 8-GPU node\n";

  std::string fit, miss;
  for (const GpuSpec& gpu : plan.gpus)
    (m.total() <= gpu.capacity_bytes() ? fit : miss) += (gpu.id + " ");
  out << "  fits on: " << (fit.empty() ? "none of the GPUs" : fit) << "\n";
  if (!miss.empty()) out << "  too big for: " << miss << "\n";
}

void write_primary(std::ostream& out, const Plan& plan) {
  if (!plan.primary) return;
  const Evaluation& e = *plan.primary;
  const TimeEstimate& t = e.time;
  const CostEstimate& c = e.cost;
  const GpuSpec& gpu = plan.gpus.front();
  const PlanSettings& s = plan.settings;
  out << "\nOn " << e.layout.gpus() << " x " << gpu.name << " (" << format_bytes(e.capacity)
      << " each): "
      << (e.fits ? "fits, " + percent(e.memory.total(), e.capacity) + " used" : "does NOT fit")
      << "\n";
  if (is_training(s.method)) {
    out << "  step          " << format_duration(t.step_seconds) << " for "
        << format_count(t.tokens_per_step) << " tokens (" << rate(t.tokens_per_second)
        << " tokens/s at MFU " << format_number(s.mfu) << ")\n";
  } else {
    out << "  decode        " << rate(t.tokens_per_second) << " tokens/s ("
        << format_duration(t.step_seconds) << " per step, "
        << (t.memory_bound ? "bandwidth" : "compute") << "-bound); prefill "
        << rate(t.prefill_tokens_per_second) << " tokens/s\n";
  }
  if (t.total_seconds > 0)
    out << "  total         " << format_duration(t.total_seconds) << " for "
        << format_count(s.tokens) << " tokens (" << format_number(c.gpu_hours) << " GPU-hours, "
        << format_number(c.energy_kwh) << " kWh)\n";
  out << "  purchase      " << money(c.purchase, c.currency, gpu.price_estimate)
      << " (GPUs only)\n";
  out << "  cloud         " << money(c.cloud_per_hour, c.currency, gpu.cloud_estimate)
      << " per hour";
  if (c.cloud >= 0)
    out << ", " << money(c.cloud, c.currency, gpu.cloud_estimate) << " for the budget";
  out << "\n";
}

void write_search(std::ostream& out, const Plan& plan) {
  const PlanSettings& s = plan.settings;
  const bool training = is_training(s.method);
  const bool budget = s.tokens > 0;
  out << "\nFewest GPUs of each type";
  if (s.parallel.gpus > 0)
    out << " (exactly " << s.parallel.gpus << ")";
  else
    out << " (TP <= " << (s.parallel.tp > 0 ? s.parallel.tp : s.max_tp) << ", up to " << s.max_gpus
        << " GPUs)";
  out << "\n";
  std::ostringstream header;
  header << "  " << std::left << std::setw(14) << "GPU" << std::right << std::setw(7) << "memory"
         << std::setw(6) << "GPUs"
         << "  " << std::left << std::setw(20) << "layout" << std::right << std::setw(10)
         << "per GPU" << std::setw(6) << "use" << std::setw(11) << (training ? "step" : "decode")
         << std::setw(11) << "tokens/s";
  if (budget) header << std::setw(12) << "total";
  header << std::setw(14) << "buy" << std::setw(13) << (budget ? "cloud" : "cloud/h");
  out << header.str() << "\n";
  bool estimated = false;
  for (const GpuResult& r : plan.search) {
    std::ostringstream row;
    row << "  " << std::left << std::setw(14) << r.gpu.id << std::right << std::setw(7)
        << (format_number(r.gpu.memory_gb) + " GB");
    if (!r.best) {
      row << "     -  " << r.reason;
      out << row.str() << "\n";
      continue;
    }
    const Evaluation& e = *r.best;
    row << std::setw(6) << e.layout.gpus() << "  " << std::left << std::setw(20)
        << short_layout(e.layout) << std::right << std::setw(10) << format_bytes(e.memory.total())
        << std::setw(6) << percent(e.memory.total(), e.capacity) << std::setw(11)
        << format_duration(e.time.step_seconds) << std::setw(11) << rate(e.time.tokens_per_second);
    if (budget) row << std::setw(12) << format_duration(e.time.total_seconds);
    row << right(money(e.cost.purchase, e.cost.currency, r.gpu.price_estimate), 14);
    row << right(
        money(budget ? e.cost.cloud : e.cost.cloud_per_hour, e.cost.currency, r.gpu.cloud_estimate),
        13);
    estimated = estimated || e.cost.estimated;
    out << row.str() << "\n";
  }
  if (estimated)
    out << "  * an estimate, not a seed's quote (configs/gpus.json names the source)\n";
}

}  // namespace

void write_table(std::ostream& out, const Plan& plan) {
  write_model(out, plan);
  write_memory(out, plan);
  write_primary(out, plan);
  write_search(out, plan);
  out << "\nAssumptions\n";
  for (const std::string& line : plan.assumptions) out << "  - " << line << "\n";
  if (!plan.warnings.empty()) {
    out << "\nWarnings\n";
    for (const std::string& line : plan.warnings) out << "  - " << line << "\n";
  }
}

void write_model_list(std::ostream& out) {
  for (const Preset& preset : presets()) {
    const ModelSpec spec = load_preset(preset.name);
    const ParamCounts counts = count_parameters(spec);
    out << std::left << std::setw(32) << preset.name << std::right << std::setw(10)
        << format_count(counts.total);
    if (spec.is_moe()) out << " (" << format_count(counts.active) << " active)";
    out << "  " << preset.description << "\n";
  }
}

void write_gpu_list(std::ostream& out, const GpuCatalog& catalog) {
  out << std::left << std::setw(14) << "id" << std::setw(30) << "name" << std::right << std::setw(9)
      << "memory" << std::setw(10) << "TFLOPS" << std::setw(9) << "GB/s" << std::setw(7) << "W"
      << std::setw(12) << "price" << std::setw(10) << "cloud/h"
      << "\n";
  for (const GpuSpec& gpu : catalog.gpus) {
    out << std::left << std::setw(14) << gpu.id << std::setw(30) << gpu.name << std::right
        << std::setw(9) << (format_number(gpu.memory_gb) + " GB") << std::setw(10)
        << format_number(gpu.tflops_16bit) << std::setw(9) << format_number(gpu.bandwidth_gbs)
        << std::setw(7) << format_number(gpu.power_w)
        << right(money(gpu.price ? *gpu.price : -1, gpu.currency, gpu.price_estimate), 12)
        << right(money(gpu.cloud_per_hour ? *gpu.cloud_per_hour : -1, gpu.currency,
                       gpu.cloud_estimate),
                 10)
        << "\n";
  }
  out << "TFLOPS: dense BF16/FP16 tensor peak; * an estimate (see price_source in --json)\n";
}

}  // namespace lmf::planner
