// The activation model against Korthikanti et al. 2022, "Reducing Activation Recomputation
// in Large Transformer Models", sec. 4 (16-bit activations, bytes per layer):
//   no parallelism                      sbh (34 + 5as/h)
//   tensor parallel t, no sequence par. sbh (10 + 24/t + 5as/(ht))
//   tensor + sequence parallel          sbh (34/t + 5as/(ht))
//   + selective recomputation           sbh 34/t
//   full recomputation                  2sbh per layer (its input)
// and what autograd saves under transformers + PEFT and under lmforge's kernels, for a
// frozen base with LoRA and a trainable one (Note [Saved tensors]).
#include "tests/planner/planner_test_support.h"

#include "core/planner/activation_model.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lmf::planner::test {
namespace {

// A GPT layer as the paper has it: GELU MLP of 4h, dropout, no GQA.
ModelSpec gpt(std::int64_t h, std::int64_t a) {
  ModelSpec m;
  m.name = "gpt";
  m.hidden = h;
  m.heads = a;
  m.kv_heads = a;
  m.head_dim = h / a;
  m.intermediate = 4 * h;
  m.layers = 1;
  m.vocab = 51200;
  m.mlp = MlpKind::plain;
  m.dropout = true;
  return m;
}

// The paper's training code: a trainable base and a LayerNorm that keeps its 16-bit input
// only (no fp32 copy, no per-row statistics counted, nothing extra for its weight).
ActivationShape shape(double s, double b, int t, bool sp) {
  ActivationShape shape;
  shape.seq = s;
  shape.batch = b;
  shape.tp = t;
  shape.sequence_parallel = sp;
  shape.attention = AttentionImpl::eager;
  shape.saved.norm_input_bytes = 2;
  shape.saved.norm_row_bytes = 0;
  shape.saved.norm_weight_widths = 0;
  shape.saved.gated_mlp_widths = 3;  // gate, SiLU output, up; + the product as down's input
  return shape;
}

// GPT-3 175B's layer, as in the paper's Table 2: h 12288, a 96, s 2048.
constexpr double h = 12288, a = 96, s = 2048, b = 1;

TEST(ActivationModel, PaperFormulaWithoutParallelism) {
  const double expected = s * b * h * (34 + 5 * a * s / h);
  EXPECT_DOUBLE_EQ(layer_activation_bytes(gpt(12288, 96), false, shape(s, b, 1, false)), expected);
}

TEST(ActivationModel, TensorParallelWithoutSequenceParallel) {
  const double t = 8;
  const double expected = s * b * h * (10 + 24 / t + 5 * a * s / (h * t));
  EXPECT_DOUBLE_EQ(layer_activation_bytes(gpt(12288, 96), false, shape(s, b, 8, false)), expected);
}

TEST(ActivationModel, TensorAndSequenceParallel) {
  const double t = 8;
  const double expected = s * b * h * (34 / t + 5 * a * s / (h * t));
  EXPECT_DOUBLE_EQ(layer_activation_bytes(gpt(12288, 96), false, shape(s, b, 8, true)), expected);
}

TEST(ActivationModel, SelectiveRecomputationDropsTheAttentionCore) {
  ActivationShape selective = shape(s, b, 8, true);
  selective.recompute_attention_core = true;
  EXPECT_DOUBLE_EQ(layer_activation_bytes(gpt(12288, 96), false, selective), s * b * h * 34 / 8);
}

TEST(ActivationModel, FullRecomputationKeepsTheLayerInput) {
  EXPECT_DOUBLE_EQ(checkpoint_bytes(gpt(12288, 96), shape(s, b, 1, false)), 2 * s * b * h);
  EXPECT_DOUBLE_EQ(checkpoint_bytes(gpt(12288, 96), shape(s, b, 8, true)), 2 * s * b * h / 8);
}

TEST(ActivationModel, FlashAttentionKeepsNoScoreMatrix) {
  // Without dropout and with FlashAttention the as^2b terms become the fp32 log-sum-exp.
  ModelSpec m = gpt(12288, 96);
  m.dropout = false;
  ActivationShape flash = shape(s, b, 1, false);
  flash.attention = AttentionImpl::flash;
  // Norm inputs and outputs 8sbh + q,k,v,o 8sbh + GELU input and output 16sbh = 32sbh
  // (the paper's 34 less its two dropout masks), + the fp32 log-sum-exp 4asb.
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, false, flash), 32 * s * b * h + 4 * a * s * b);
}

TEST(ActivationModel, SwiGluAndGroupedQueryAttention) {
  // Llama-3-8B layer, flash: norm inputs and outputs 4 x 2sbh, Q and O 2sb*4096 each, K and
  // V 2sb*1024 each, gate/up/SiLU/product 4 x 2sb*14336, log-sum-exp 4asb.
  const ModelSpec m = load_preset("deepseek-r1-distill-llama-8b");
  ActivationShape flash = shape(4096, 2, 1, false);
  flash.attention = AttentionImpl::flash;
  const double tokens = 4096 * 2;
  const double expected = 8 * tokens * 4096 + 2 * tokens * (4096 + 1024 + 1024 + 4096) +
                          8 * tokens * 14336 + 4 * 32 * tokens;
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, false, flash), expected);
}

TEST(ActivationModel, OutputLayerKeepsLogits) {
  const ModelSpec m = load_preset("deepseek-r1-distill-qwen-7b");
  ActivationShape one = shape(512, 1, 1, false);
  // final norm input and output 2 x 2sbh, logits 6 bytes x s x V.
  EXPECT_DOUBLE_EQ(output_activation_bytes(m, one, 6), 4 * 512.0 * 3584 + 6 * 512.0 * 152064);
}

// Note [Saved tensors]: LoRA r = 16 on a frozen Llama-8B-shaped layer, one sequence of
// 2048 tokens, flash attention, no TP. h 4096, a 32, kv 8, d 128, i 14336 = 3.5h.
ActivationShape lora_shape(Trainer trainer, double adapter_bytes,
                           const std::vector<std::string>& targets) {
  ActivationShape lora;
  lora.seq = 2048;
  lora.batch = 1;
  lora.sequence_parallel = false;
  lora.saved = saved_tensors_of(trainer, 2, adapter_bytes);
  lora.frozen_base = true;
  lora.adapted = adapted_modules(targets);
  lora.lora_rank = 16;
  lora.lora_modules = static_cast<double>(targets.size());
  return lora;
}

const std::vector<std::string> kAllModules{"q", "k", "v", "o", "gate", "up", "down"};

TEST(ActivationModel, FrozenBaseWithPeftFp32Adapters) {
  const ModelSpec m = load_preset("deepseek-r1-distill-llama-8b");
  const double lh = 4096;
  // Per token, bytes:
  //   attention: norm input fp32 4h + its 1/rms 4 + q, k, v each cast to fp32 3 x 4h +
  //     Q, K, V, attention output 2*(h + h/4 + h/4 + h) = 5h + log-sum-exp 4*32 = 128 +
  //     o's fp32 cast of the attention output 4*(32*128) = 4h;
  //   MLP: norm input 4h + 4 + gate, SiLU output, up 2*3*3.5h = 21h + gate and up casts
  //     2 x 4h + down's cast of the product 4*3.5h = 14h;
  //   LoRA intermediates 4 bytes * r 16 * 7 modules = 448.
  //   h terms: 4 + 12 + 5 + 4 + 4 + 21 + 8 + 14 = 72; constants: 4 + 128 + 4 + 448 = 584.
  const double expected = 2048 * (72 * lh + 584);
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, false, lora_shape(Trainer::hf, 4, kAllModules)),
                   expected);
}

TEST(ActivationModel, FrozenBaseWithAdaptersInTheActivationDtype) {
  // bf16 adapters on bf16 activations: the casts are no-ops and the adapters keep the
  // tensors themselves, each once: the attention norm's output 2h (q, k, v), the MLP
  // norm's output 2h (gate, up), the product 2*3.5h = 7h (down); o's input is the
  // attention output, already kept.
  //   h terms: norms 8 + Q/K/V/output 5 + SwiGLU 21 + 2 + 2 + 7 = 45;
  //   constants: 1/rms 4 + 4, log-sum-exp 128, intermediates 2*16*7 = 224: 360.
  const ModelSpec m = load_preset("deepseek-r1-distill-llama-8b");
  const double lh = 4096;
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, false, lora_shape(Trainer::hf, 2, kAllModules)),
                   2048 * (45 * lh + 360));
}

TEST(ActivationModel, FrozenBaseWithLmforgeKernels) {
  // Fused RMSNorm: 16-bit input 2h + fp32 1/rms 4, each norm; fused SwiGLU keeps gate and
  // up 2*2*3.5h = 14h; one fp32 cast of the attention input 4h (q, k, v), one of the MLP
  // input 4h (gate, up), o's 4h, down's 4*3.5h = 14h.
  //   h terms: 2 + 2 + 5 + 14 + 4 + 4 + 4 + 14 = 49;
  //   constants: 4 + 4 + log-sum-exp 128 + intermediates 448 = 584.
  const ModelSpec m = load_preset("deepseek-r1-distill-llama-8b");
  const double lh = 4096;
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, false, lora_shape(Trainer::lmforge, 4, kAllModules)),
                   2048 * (49 * lh + 584));
}

TEST(ActivationModel, FrozenBaseWithSomeTargets) {
  // q and v only, PEFT, fp32: their two casts 4h + 4h; nothing for o, gate, up, down,
  // whose base linears are frozen; the MLP still keeps gate, SiLU output and up (its
  // input requires grad through the attention's adapters).
  //   h terms: norms 8 + casts 8 + Q/K/V/output 5 + SwiGLU 21 = 42;
  //   constants: 4 + 4 + 128 + intermediates 4*16*2 = 128: 264.
  const ModelSpec m = load_preset("deepseek-r1-distill-llama-8b");
  const double lh = 4096;
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, false, lora_shape(Trainer::hf, 4, {"q", "v"})),
                   2048 * (42 * lh + 264));
}

TEST(ActivationModel, FrozenBaseUnderTensorParallelism) {
  // TP 8 without sequence parallelism: norms, the h-wide casts and the r-wide
  // intermediates are whole on every rank; Q/K/V/output, the log-sum-exp, the SwiGLU
  // tensors and the casts of o's and down's (split) inputs are divided by 8.
  //   whole: norms 8h + 8, q/k/v casts 12h, gate/up casts 8h, intermediates 448: 28h + 456;
  //   split: 5h + 128 + o's cast 4h + SwiGLU 21h + down's cast 14h: 44h + 128.
  const ModelSpec m = load_preset("deepseek-r1-distill-llama-8b");
  const double lh = 4096;
  ActivationShape tp8 = lora_shape(Trainer::hf, 4, kAllModules);
  tp8.tp = 8;
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, false, tp8),
                   2048 * ((28 * lh + 456) + (44 * lh + 128) / 8));
}

TEST(ActivationModel, TrainableBaseOfBothTrainers) {
  // Full fine-tuning of a Qwen2-1.5B-shaped layer: h 1536, a 12, kv 2, d 128, i 8960,
  // one token. Q, K, V, attention output 2*(1536 + 256 + 256 + 1536); log-sum-exp 4*12.
  const ModelSpec m = load_preset("deepseek-r1-distill-qwen-1.5b");
  const double qh = 1536, i = 8960;
  ActivationShape full;
  full.seq = 1;
  full.batch = 1;
  full.saved = saved_tensors_of(Trainer::hf, 2, 0);
  // transformers: each norm keeps its fp32 input 4h, 1/rms 4, the normed 2h its weight's
  // product keeps, and its output 2h (the q/k/v or gate/up input); the MLP keeps gate,
  // SiLU output, up and the product (down's input), 2*4*i.
  const double hf = (4 * qh + 4 + 2 * qh + 2 * qh + 2 * (1536 + 256 + 256 + 1536) + 4 * 12) +
                    (4 * qh + 4 + 2 * qh + 2 * qh + 2 * 4 * i);
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, false, full), hf);
  // lmforge: each norm its 16-bit input 2h and 1/rms 4, and its output 2h; fused SwiGLU
  // keeps gate and up, + the product: 2*3*i.
  full.saved = saved_tensors_of(Trainer::lmforge, 2, 0);
  const double lmforge = (2 * qh + 4 + 2 * qh + 2 * (1536 + 256 + 256 + 1536) + 4 * 12) +
                         (2 * qh + 4 + 2 * qh + 2 * 3 * i);
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, false, full), lmforge);
}

TEST(ActivationModel, NormInputIsFp32UnderEitherActivationDtype) {
  // transformers widens the input to fp32 (4 bytes from bf16 or fp32 activations); a fused
  // kernel keeps the activation's own dtype.
  EXPECT_DOUBLE_EQ(saved_tensors_of(Trainer::hf, 2, 4).norm_input_bytes, 4);
  EXPECT_DOUBLE_EQ(saved_tensors_of(Trainer::hf, 4, 4).norm_input_bytes, 4);
  EXPECT_DOUBLE_EQ(saved_tensors_of(Trainer::lmforge, 2, 4).norm_input_bytes, 2);
  EXPECT_DOUBLE_EQ(saved_tensors_of(Trainer::lmforge, 4, 4).norm_input_bytes, 4);
}

TEST(ActivationModel, OutputLayerUnderAFrozenBase) {
  // The frozen lm_head keeps nothing: the final norm's fp32 input 4h and 1/rms 4 per
  // token, and the logits, 6 bytes x V.
  const ModelSpec m = load_preset("deepseek-r1-distill-llama-8b");
  const ActivationShape lora = lora_shape(Trainer::hf, 4, kAllModules);
  EXPECT_DOUBLE_EQ(output_activation_bytes(m, lora, 6),
                   2048 * (4 * 4096.0 + 4) + 6 * 2048 * 128256.0);
}

TEST(ActivationModel, LmforgesChunkedLossKeepsOneChunkOfLogits) {
  // lmforge: the norm keeps its 2-byte input and 1/rms (4), the loss its 2-byte input and
  // an fp32 log-sum-exp per token, and one chunk of 4096 tokens' logits is live in the
  // activations' dtype (2 bytes: turned into their gradient in place) — whatever the 6
  // bytes per logit of the whole-logits setting says.
  const ModelSpec m = load_preset("deepseek-r1-distill-llama-8b");
  ActivationShape lora = lora_shape(Trainer::lmforge, 4, kAllModules);
  lora.batch = 4;  // 8192 tokens: two chunks
  const double tokens = 8192;
  EXPECT_DOUBLE_EQ(output_activation_bytes(m, lora, 6),
                   tokens * (2 * 4096.0 + 4) + tokens * 2 * 4096 + 2 * 4096 * 128256.0 + 4 * tokens);
  lora.batch = 1;  // fewer tokens than a chunk: the chunk is the whole sequence
  EXPECT_DOUBLE_EQ(output_activation_bytes(m, lora, 6),
                   2048 * (2 * 4096.0 + 4) + 2048 * 2 * 4096 + 2 * 2048 * 128256.0 + 4 * 2048);
}

}  // namespace
}  // namespace lmf::planner::test
