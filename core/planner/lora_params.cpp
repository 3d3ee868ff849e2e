#include "core/planner/lora_params.h"

#include <algorithm>

namespace lmf::planner {
namespace {

struct Matrix {
  double in = 0;
  double out = 0;
};

bool targeted(const std::vector<std::string>& targets, const char* module) {
  return std::find(targets.begin(), targets.end(), module) != targets.end();
}

std::vector<Matrix> attention_matrices(const ModelSpec& m, const std::vector<std::string>& t) {
  const double h = static_cast<double>(m.hidden), a = static_cast<double>(m.heads);
  const double dqk = static_cast<double>(m.qk_head_dim()), dv = static_cast<double>(m.v_head_dim());
  std::vector<Matrix> list;
  if (m.attention == AttentionKind::mla) {
    const double q_rank = static_cast<double>(m.mla.q_lora_rank);
    const double kv_rank = static_cast<double>(m.mla.kv_lora_rank);
    const double rope = static_cast<double>(m.mla.qk_rope_head_dim);
    const double nope = static_cast<double>(m.mla.qk_nope_head_dim);
    if (targeted(t, "q")) {
      if (q_rank > 0) {
        list.push_back({h, q_rank});
        list.push_back({q_rank, a * dqk});
      } else {
        list.push_back({h, a * dqk});
      }
    }
    if (targeted(t, "k") || targeted(t, "v")) {  // one kv_a and one kv_b serve both
      list.push_back({h, kv_rank + rope});
      list.push_back({kv_rank, a * (nope + dv)});
    }
  } else {
    const double kv = static_cast<double>(m.kv_heads);
    if (targeted(t, "q")) list.push_back({h, a * dqk});
    if (targeted(t, "k")) list.push_back({h, kv * dqk});
    if (targeted(t, "v")) list.push_back({h, kv * dv});
  }
  if (targeted(t, "o")) list.push_back({a * dv, h});
  return list;
}

std::vector<Matrix> mlp_matrices(const ModelSpec& m, const std::vector<std::string>& t,
                                 double width) {
  const double h = static_cast<double>(m.hidden);
  std::vector<Matrix> list;
  if (width <= 0) return list;
  if (m.mlp == MlpKind::gated && targeted(t, "gate")) list.push_back({h, width});
  if (targeted(t, "up")) list.push_back({h, width});
  if (targeted(t, "down")) list.push_back({width, h});
  return list;
}

double adapters(const std::vector<Matrix>& matrices, double rank) {
  double sum = 0;
  for (const Matrix& matrix : matrices) sum += rank * (matrix.in + matrix.out);
  return sum;
}

}  // namespace

LoraCounts count_lora(const ModelSpec& m, const std::vector<std::string>& targets, int rank,
                      Derivation* derivation) {
  LoraCounts counts;
  if (!m.has_architecture()) return counts;
  const double r = rank;
  const std::vector<Matrix> attention = attention_matrices(m, targets);
  const std::vector<Matrix> dense = mlp_matrices(m, targets, static_cast<double>(m.intermediate));
  const double attention_params = adapters(attention, r);

  counts.dense_layer = attention_params + adapters(dense, r);
  counts.dense_modules = static_cast<double>(attention.size() + dense.size());
  double moe_active = 0;
  if (m.is_moe()) {
    const std::vector<Matrix> expert =
        mlp_matrices(m, targets, static_cast<double>(m.moe.expert_intermediate));
    const std::vector<Matrix> shared =
        mlp_matrices(m, targets, static_cast<double>(m.moe.shared_intermediate));
    const double e = static_cast<double>(m.moe.routed_experts);
    const double k = static_cast<double>(m.moe.experts_per_token);
    counts.moe_layer = attention_params + e * adapters(expert, r) + adapters(shared, r);
    moe_active = attention_params + k * adapters(expert, r) + adapters(shared, r);
    counts.moe_modules = static_cast<double>(attention.size() + shared.size()) +
                         k * static_cast<double>(expert.size());
  }
  const double dense_layers = static_cast<double>(m.layers - m.moe_layer_count());
  const double moe_layers = static_cast<double>(m.moe_layer_count());
  counts.total = record(
      derivation, "parameters", "LoRA adapters",
      "sum over adapted matrices of r*(in+out), all layers",
      [&] {
        std::string text = num(dense_layers) + "*" + num(counts.dense_layer);
        if (moe_layers > 0) text += " + " + num(moe_layers) + "*" + num(counts.moe_layer);
        return text + " (r = " + num(r) + ")";
      },
      dense_layers * counts.dense_layer + moe_layers * counts.moe_layer, Unit::count);
  counts.active = dense_layers * counts.dense_layer + moe_layers * moe_active;
  return counts;
}

}  // namespace lmf::planner
