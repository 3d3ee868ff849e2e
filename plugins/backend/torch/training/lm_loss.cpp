#include "training/lm_loss.h"

#include "training/cross_entropy_rows.h"

#include <lmf/sdk/error.h>

#include <algorithm>
#include <string>

namespace lmf::torch_backend {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

[[noreturn]] void bad_input(const std::string& what) {
  sdk::fail(LMF_ERR_INVALID_ARGUMENT, "LM loss: " + what);
}

// The fp32 logits of a chunk of rows: the matmul in the inputs' dtype, then widened.
torch::Tensor chunk_logits(const torch::Tensor& hidden, const torch::Tensor& weight) {
  return torch::linear(hidden, weight).to(torch::kFloat32);
}

// A chunk's labels with the ignored ones replaced by a valid index (their rows are
// masked out afterwards), and which rows count.
struct ChunkTargets {
  torch::Tensor index;  // [n, 1] int64
  torch::Tensor valid;  // [n] bool
  ChunkTargets(const torch::Tensor& labels) {
    valid = labels != kIgnoreIndex;
    index = labels.masked_fill(valid.logical_not(), 0).unsqueeze(1);
  }
};

// Note [Loss without the logits] (lm_loss.h).
struct ChunkedTokenNll : public torch::autograd::Function<ChunkedTokenNll> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& hidden,
                               const torch::Tensor& weight, const torch::Tensor& labels,
                               int64_t chunk_rows) {
    const int64_t rows = hidden.size(0);
    const auto fp32 = hidden.options().dtype(torch::kFloat32);
    torch::Tensor nll = torch::empty({rows}, fp32);
    torch::Tensor logsumexp = torch::empty({rows}, fp32);
    for (int64_t start = 0; start < rows; start += chunk_rows) {
      const int64_t n = std::min(chunk_rows, rows - start);
      torch::Tensor logits = chunk_logits(hidden.narrow(0, start, n), weight);
      ChunkTargets targets(labels.narrow(0, start, n));
      torch::Tensor lse = torch::logsumexp(logits, 1);
      torch::Tensor target_logit = logits.gather(1, targets.index).squeeze(1);
      nll.narrow(0, start, n)
          .copy_((lse - target_logit).masked_fill_(targets.valid.logical_not(), 0));
      logsumexp.narrow(0, start, n).copy_(lse);
    }
    ctx->save_for_backward({hidden, weight, labels, logsumexp});
    ctx->saved_data["chunk_rows"] = chunk_rows;
    return nll;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &hidden = saved[0], &weight = saved[1], &labels = saved[2],
                        &logsumexp = saved[3];
    const int64_t chunk_rows = ctx->saved_data["chunk_rows"].toInt();
    const torch::Tensor grad_nll = grad_outputs[0].to(torch::kFloat32);
    const bool want_hidden = ctx->needs_input_grad(0), want_weight = ctx->needs_input_grad(1);

    torch::Tensor grad_hidden =
        want_hidden ? torch::empty(hidden.sizes(), hidden.options()) : torch::Tensor();
    torch::Tensor grad_weight =
        want_weight ? torch::zeros(weight.sizes(), weight.options().dtype(torch::kFloat32))
                    : torch::Tensor();
    for (int64_t start = 0; start < hidden.size(0); start += chunk_rows) {
      const int64_t n = std::min(chunk_rows, hidden.size(0) - start);
      const torch::Tensor h = hidden.narrow(0, start, n);
      ChunkTargets targets(labels.narrow(0, start, n));
      // dlogits = (softmax − one-hot) · grad, row by row; ignored rows get 0.
      torch::Tensor scale =
          grad_nll.narrow(0, start, n).masked_fill(targets.valid.logical_not(), 0).unsqueeze(1);
      torch::Tensor dlogits =
          chunk_logits(h, weight).sub_(logsumexp.narrow(0, start, n).unsqueeze(1)).exp_();
      dlogits.mul_(scale).scatter_add_(1, targets.index, scale.neg());
      dlogits = dlogits.to(hidden.scalar_type());
      if (want_hidden) {
        torch::Tensor rows = grad_hidden.narrow(0, start, n);
        at::mm_out(rows, dlogits, weight);
      }
      if (want_weight) {
        if (grad_weight.scalar_type() == dlogits.scalar_type())
          grad_weight.addmm_(dlogits.t(), h);
        else
          grad_weight.add_(torch::mm(dlogits.t(), h));
      }
    }
    if (want_weight) grad_weight = grad_weight.to(weight.scalar_type());
    return {grad_hidden, grad_weight, torch::Tensor(), torch::Tensor()};
  }
};

// Note [Gradient in the forward pass] (lm_loss.h). Returns Σ nll over the rows whose
// label is not ignored, fp32 0-d. `want_hidden`/`want_weight` say which gradients to form
// (the wrapper decides: GradMode is off in here).
struct FusedLinearCrossEntropySum : public torch::autograd::Function<FusedLinearCrossEntropySum> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& hidden,
                               const torch::Tensor& weight, const torch::Tensor& labels,
                               int64_t chunk_rows, bool want_hidden, bool want_weight) {
    const int64_t rows = hidden.size(0);
    const bool write_grad = want_hidden || want_weight;
    torch::Tensor nll = torch::empty({rows}, hidden.options().dtype(torch::kFloat32));
    torch::Tensor grad_hidden =
        want_hidden ? torch::empty(hidden.sizes(), hidden.options()) : torch::Tensor();
    torch::Tensor grad_weight;  // in the weight's dtype: Note [Gradient in the forward pass]
    if (want_weight)
      grad_weight = rows == 0 ? torch::zeros(weight.sizes(), weight.options())
                              : torch::empty(weight.sizes(), weight.options());
    for (int64_t start = 0; start < rows; start += chunk_rows) {
      const int64_t n = std::min(chunk_rows, rows - start);
      const torch::Tensor h = hidden.narrow(0, start, n);
      // The chunk's logits in the inputs' dtype; with write_grad they become dlogits.
      torch::Tensor logits = torch::mm(h, weight.t());
      nll.narrow(0, start, n)
          .copy_(cross_entropy_rows(logits, labels.narrow(0, start, n), write_grad));
      if (want_hidden) {
        torch::Tensor out = grad_hidden.narrow(0, start, n);
        at::mm_out(out, logits, weight);
      }
      if (want_weight) {
        if (start == 0)
          at::mm_out(grad_weight, logits.t(), h);
        else
          grad_weight.addmm_(logits.t(), h);
      }
    }  // each chunk's logits are freed here, before the next chunk's
    ctx->save_for_backward({grad_hidden, grad_weight});
    return nll.sum();
  }

  // d loss / d inputs = grad_output · the stored gradients: a tensor multiply, no host
  // sync. In place: the buffers are this node's alone, which also means a second backward
  // pass (retain_graph) cannot reuse them.
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    if (ctx->saved_data.count("scaled") != 0)
      bad_input(
          "the fused LM loss supports one backward pass only (its gradients are formed in "
          "the forward pass and scaled in place); use token_nll(...).sum() to differentiate "
          "it more than once");
    ctx->saved_data["scaled"] = true;
    const variable_list saved = ctx->get_saved_variables();
    torch::Tensor grad_hidden = saved[0], grad_weight = saved[1];
    const torch::Tensor& scale = grad_outputs[0];
    if (grad_hidden.defined()) grad_hidden.mul_(scale);
    if (grad_weight.defined()) grad_weight.mul_(scale);
    return {grad_hidden,     grad_weight,     torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

void check_inputs(const torch::Tensor& hidden, const torch::Tensor& weight,
                  const torch::Tensor& labels, int64_t chunk_rows) {
  if (chunk_rows < 1) bad_input("chunk_rows must be ≥ 1, not " + std::to_string(chunk_rows));
  if (hidden.dim() != 2 || weight.dim() != 2 || hidden.size(1) != weight.size(1))
    bad_input("hidden must be [N, H] and weight [V, H] with the same H; got " +
              c10::str(hidden.sizes()) + " and " + c10::str(weight.sizes()));
  if (!hidden.is_floating_point() || hidden.scalar_type() != weight.scalar_type())
    bad_input(std::string("hidden and weight must share a floating dtype; got ") +
              c10::toString(hidden.scalar_type()) + " and " + c10::toString(weight.scalar_type()));
  if (labels.scalar_type() != torch::kInt64 || labels.dim() != 1 ||
      labels.size(0) != hidden.size(0))
    bad_input("labels must be int64 [" + std::to_string(hidden.size(0)) + "] like hidden's rows");
  if (hidden.device() != weight.device() || hidden.device() != labels.device())
    bad_input("hidden, weight and labels must be on one device");
  // A label outside the vocabulary would index out of range. Checked where it costs no
  // device sync; on the GPU the token ids were checked against the vocabulary on loading.
  if (labels.device().is_cpu() && labels.numel() > 0) {
    const int64_t vocab = weight.size(0);
    torch::Tensor wrong = ((labels < 0) & (labels != kIgnoreIndex)) | (labels >= vocab);
    if (wrong.any().item<bool>()) {
      const int64_t at = wrong.nonzero()[0][0].item<int64_t>();
      bad_input("label " + std::to_string(labels[at].item<int64_t>()) + " at row " +
                std::to_string(at) + " is outside the vocabulary [0, " + std::to_string(vocab) +
                ") and is not " + std::to_string(kIgnoreIndex));
    }
  }
}

}  // namespace

torch::Tensor shift_labels(const torch::Tensor& input_ids, const torch::Tensor& loss_mask) {
  if (loss_mask.defined() && loss_mask.sizes() != input_ids.sizes())
    bad_input("loss_mask must have input_ids' shape");
  torch::Tensor labels = torch::full_like(input_ids, kIgnoreIndex);
  const int64_t steps = input_ids.size(-1);
  if (steps < 2) return labels;
  torch::Tensor next = input_ids.narrow(-1, 1, steps - 1);
  if (loss_mask.defined())
    next = next.masked_fill(loss_mask.narrow(-1, 1, steps - 1).logical_not(), kIgnoreIndex);
  labels.narrow(-1, 0, steps - 1).copy_(next);
  return labels;
}

torch::Tensor token_nll(const torch::Tensor& hidden, const torch::Tensor& weight,
                        const torch::Tensor& labels, int64_t chunk_rows) {
  check_inputs(hidden, weight, labels, chunk_rows);
  return ChunkedTokenNll::apply(hidden, weight, labels, chunk_rows);
}

LossSum causal_lm_loss_sum(const torch::Tensor& hidden, const torch::Tensor& weight,
                           const torch::Tensor& labels, int64_t chunk_rows) {
  if (hidden.dim() < 1 || labels.numel() * hidden.size(-1) != hidden.numel())
    bad_input("labels must have hidden's shape without its last dimension");
  const torch::Tensor flat_hidden = hidden.reshape({-1, hidden.size(-1)});
  const torch::Tensor flat_labels = labels.reshape({-1});
  check_inputs(flat_hidden, weight, flat_labels, chunk_rows);
  const bool grad = torch::GradMode::is_enabled();
  torch::Tensor sum = FusedLinearCrossEntropySum::apply(
      flat_hidden, weight, flat_labels, chunk_rows, grad && flat_hidden.requires_grad(),
      grad && weight.requires_grad());
  return {sum, (flat_labels != kIgnoreIndex).sum()};
}

torch::Tensor sequence_logprobs(const torch::Tensor& hidden, const torch::Tensor& weight,
                                const torch::Tensor& labels, int64_t chunk_rows) {
  if (hidden.dim() != 3 || labels.dim() != 2 || labels.sizes() != hidden.sizes().slice(0, 2))
    bad_input("sequence_logprobs needs hidden [B, T, H] and labels [B, T]");
  torch::Tensor nll =
      token_nll(hidden.reshape({-1, hidden.size(2)}), weight, labels.reshape({-1}), chunk_rows);
  return -nll.view({labels.size(0), labels.size(1)}).sum(1);
}

}  // namespace lmf::torch_backend
