#include "quantize/quantize_config.h"

#include "run_config_fields.h"

namespace lmf::torch_backend {

QuantizeConfig QuantizeConfig::from_json(const nlohmann::json& config) {
  run_config::Fields f(config, "", "quantize");
  f.only({"quantizer", "output", "overwrite", "calibration", "true_sequential", "modules"});
  QuantizeConfig c;
  const nlohmann::json quantizer = f.object("quantizer");
  run_config::Fields q(quantizer, "quantizer.", "quantize");
  q.only({"component", "config"});
  c.quantizer = q.text("component", "");
  if (c.quantizer.empty()) f.bad("quantizer.component", "is missing: the quantizer component, e.g. \"gptq\"");
  c.quantizer_config = q.object("config");
  c.output = f.text("output", "");
  if (c.output.empty()) f.bad("output", "is missing: the folder for the quantized model");
  c.overwrite = f.boolean("overwrite", c.overwrite);
  c.true_sequential = f.boolean("true_sequential", c.true_sequential);
  if (f.has("modules")) {
    c.modules = f.paths("modules");
    const std::set<std::string> known(QuantizeConfig{}.modules.begin(), QuantizeConfig{}.modules.end());
    for (const std::string& module : c.modules)
      if (!known.count(module)) f.bad("modules", "names \"" + module + "\"; the projections are q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj");
  }
  const nlohmann::json calibration = f.object("calibration");
  run_config::Fields cal(calibration, "calibration.", "quantize");
  cal.only({"shards", "split", "samples", "seq_length", "batch", "device"});
  c.calibration_shards = cal.text("shards", "");
  c.calibration_split = cal.text("split", c.calibration_split);
  c.samples = cal.integer("samples", c.samples, 1);
  c.seq_length = cal.integer("seq_length", c.seq_length, 2);
  c.batch = cal.integer("batch", c.batch, 1);
  c.calibration_device = cal.text("device", "");
  const std::string& device = c.calibration_device;
  if (!device.empty() && device != "auto" && device != "cpu" && device != "cuda" && device.rfind("cuda:", 0) != 0)
    cal.bad("calibration.device", "is \"" + device + "\"; a device is auto, cpu, cuda or cuda:N");
  return c;
}

}  // namespace lmf::torch_backend
