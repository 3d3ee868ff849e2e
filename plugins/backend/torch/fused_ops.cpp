#include "fused_ops.h"

#include "kernel_tensors.h"
#include "kernels/fused_kernels.h"
#include "torch_compat.h"

#include <optional>

namespace lmf::torch_backend::fused {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

using namespace kernel_tensors;

// The stride between rows when t's leading dimensions flatten into rows of its last,
// contiguous dimension; nullopt otherwise.
std::optional<int64_t> row_stride(const torch::Tensor& t) {
  if (t.dim() < 1 || t.stride(-1) != 1) return std::nullopt;
  // Row r lies at r·stride: each leading dimension of more than one entry must step by
  // the product of the inner ones' (dimensions of size 1 have any stride).
  std::optional<int64_t> stride, next;
  for (int64_t d = t.dim() - 2; d >= 0; --d) {
    if (t.size(d) == 1) continue;
    if (!stride) stride = t.stride(d);
    else if (t.stride(d) != *next) return std::nullopt;
    next = t.stride(d) * t.size(d);
  }
  return stride.value_or(t.size(-1));
}

int64_t rows_of(const torch::Tensor& t) { return t.numel() / std::max<int64_t>(1, t.size(-1)); }

// Rows of `width` elements, `stride` apart, that the kernels' 16-byte vectors can walk.
bool vector_rows(const torch::Tensor& t, int64_t width, std::optional<int64_t> stride) {
  const int64_t v = kernels::vector_width(dtype_of(t));
  return stride.has_value() && width % v == 0 && *stride % v == 0 && aligned(t);
}


// `t` contiguous at a 16-byte-aligned address (a view may start anywhere).
torch::Tensor aligned_contiguous(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous();
  return aligned(c) ? c : c.clone();
}

struct RmsNormFunction : torch::autograd::Function<RmsNormFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input, const torch::Tensor& weight,
                               double eps) {
    const compat::DeviceScope scope(input.device());
    const torch::Tensor x = aligned_contiguous(input);
    const int64_t width = x.size(-1), rows = rows_of(x);
    torch::Tensor y = torch::empty_like(x);
    torch::Tensor rstd = torch::empty({rows}, x.options().dtype(torch::kFloat32));
    kernels::rms_norm_forward(dtype_of(x), x.data_ptr(), weight.data_ptr(), y.data_ptr(), rstd.data_ptr<float>(),
                              rows, width, static_cast<float>(eps), stream_of(x));
    ctx->save_for_backward({x, weight, rstd});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &x = saved[0], &weight = saved[1], &rstd = saved[2];
    const compat::DeviceScope scope(x.device());
    const torch::Tensor dy = aligned_contiguous(grads[0]);
    const int64_t width = x.size(-1), rows = rows_of(x);
    torch::Tensor dx = torch::empty_like(x);
    torch::Tensor dw_partial;
    if (ctx->needs_input_grad(1))  // zeros: no block writes it when there are no rows
      dw_partial = torch::zeros({kernels::rms_norm_backward_blocks(rows), width}, x.options().dtype(torch::kFloat32));
    kernels::rms_norm_backward(dtype_of(x), dy.data_ptr(), x.data_ptr(), weight.data_ptr(), rstd.data_ptr<float>(),
                               dx.data_ptr(), dw_partial.defined() ? dw_partial.data_ptr<float>() : nullptr, rows,
                               width, stream_of(x));
    torch::Tensor dw = dw_partial.defined() ? dw_partial.sum(0).to(weight.scalar_type()) : torch::Tensor();
    return {dx, dw, torch::Tensor()};
  }
};

// The kernels' view of a SwiGLU input: gate and up as rows `*_stride` apart.
struct GluRows {
  int64_t rows, width, gate_stride, up_stride;
};

torch::Tensor swiglu_forward(const torch::Tensor& gate, const torch::Tensor& up, const GluRows& r) {
  const compat::DeviceScope scope(gate.device());
  std::vector<int64_t> shape = gate.sizes().vec();
  shape.back() = r.width;
  torch::Tensor out = torch::empty(shape, gate.options());
  kernels::swiglu_forward(dtype_of(gate), gate.data_ptr(), r.gate_stride, up.data_ptr(), r.up_stride, out.data_ptr(),
                          r.rows, r.width, stream_of(gate));
  return out;
}

struct SwigluFunction : torch::autograd::Function<SwigluFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& gate, const torch::Tensor& up) {
    ctx->save_for_backward({gate, up});
    return swiglu_forward(gate, up, {rows_of(gate), gate.size(-1), *row_stride(gate), *row_stride(up)});
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &gate = saved[0], &up = saved[1];
    const compat::DeviceScope scope(gate.device());
    const torch::Tensor dy = aligned_contiguous(grads[0]);
    const int64_t width = gate.size(-1), rows = rows_of(gate);
    torch::Tensor d_gate = torch::empty(dy.sizes(), dy.options()), d_up = torch::empty(dy.sizes(), dy.options());
    kernels::swiglu_backward(dtype_of(gate), dy.data_ptr(), gate.data_ptr(), *row_stride(gate), up.data_ptr(),
                             *row_stride(up), d_gate.data_ptr(), width, d_up.data_ptr(), width, rows, width,
                             stream_of(gate));
    return {d_gate, d_up};
  }
};

struct SwigluPackedFunction : torch::autograd::Function<SwigluPackedFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& gate_up) {
    ctx->save_for_backward({gate_up});
    const int64_t width = gate_up.size(-1) / 2, stride = *row_stride(gate_up);
    return swiglu_forward(gate_up, gate_up.narrow(-1, width, width), {rows_of(gate_up), width, stride, stride});
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const torch::Tensor gate_up = ctx->get_saved_variables()[0];
    const compat::DeviceScope scope(gate_up.device());
    const torch::Tensor dy = aligned_contiguous(grads[0]);
    const int64_t width = gate_up.size(-1) / 2, stride = *row_stride(gate_up), rows = rows_of(gate_up);
    torch::Tensor d_gate_up = torch::empty(gate_up.sizes(), gate_up.options());
    kernels::swiglu_backward(dtype_of(gate_up), dy.data_ptr(), gate_up.data_ptr(), stride,
                             gate_up.narrow(-1, width, width).data_ptr(), stride, d_gate_up.data_ptr(), 2 * width,
                             d_gate_up.narrow(-1, width, width).data_ptr(), 2 * width, rows, width,
                             stream_of(gate_up));
    return {d_gate_up};
  }
};

kernels::RopeShape rope_shape(const torch::Tensor& in, const torch::Tensor& out) {
  return {in.size(0), in.size(1), in.size(2), in.size(3),
          {in.stride(0), in.stride(1), in.stride(2)},
          {out.stride(0), out.stride(1), out.stride(2)}};
}

torch::Tensor rope_launch(const torch::Tensor& input, const torch::Tensor& cos, const torch::Tensor& sin,
                          bool inverse) {
  const compat::DeviceScope scope(input.device());
  const torch::Tensor x = input.stride(-1) == 1 ? input : input.contiguous();
  torch::Tensor out = torch::empty_like(x);  // x's layout where it is dense, else contiguous
  kernels::rope(dtype_of(x), x.data_ptr(), cos.data_ptr(), sin.data_ptr(), out.data_ptr(), rope_shape(x, out),
                inverse, stream_of(x));
  return out;
}

struct RopeFunction : torch::autograd::Function<RopeFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& cos,
                               const torch::Tensor& sin) {
    ctx->save_for_backward({cos, sin});
    return rope_launch(x, cos, sin, /*inverse=*/false);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list saved = ctx->get_saved_variables();
    return {rope_launch(grads[0], saved[0], saved[1], /*inverse=*/true), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool rms_norm_applies(const torch::Tensor& x, const torch::Tensor& weight) {
  if (!on_cuda(x) || !on_cuda(weight) || x.device() != weight.device() || weight.scalar_type() != x.scalar_type() || !weight.is_contiguous() ||
      weight.dim() != 1 || weight.size(0) != x.size(-1) || !aligned(weight))
    return false;
  const int64_t width = x.size(-1);
  return width % kernels::vector_width(dtype_of(x)) == 0 && width <= kernels::rms_norm_max_width(dtype_of(x));
}

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  return RmsNormFunction::apply(x, weight, eps);
}

bool swiglu_applies(const torch::Tensor& gate, const torch::Tensor& up) {
  if (!on_cuda(gate) || !on_cuda(up) || gate.sizes() != up.sizes() || gate.scalar_type() != up.scalar_type())
    return false;
  const int64_t width = gate.size(-1);
  return vector_rows(gate, width, row_stride(gate)) && vector_rows(up, width, row_stride(up));
}

torch::Tensor swiglu(const torch::Tensor& gate, const torch::Tensor& up) {
  return SwigluFunction::apply(gate, up);
}

bool swiglu_packed_applies(const torch::Tensor& gate_up) {
  if (!on_cuda(gate_up) || gate_up.size(-1) % 2 != 0) return false;
  const int64_t width = gate_up.size(-1) / 2;
  return vector_rows(gate_up, width, row_stride(gate_up));
}

torch::Tensor swiglu_packed(const torch::Tensor& gate_up) {
  return SwigluPackedFunction::apply(gate_up);
}

bool rope_applies(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  return sin.defined() && sin.sizes() == cos.sizes() && sin.is_contiguous() && sin.scalar_type() == x.scalar_type() &&
         on_cuda(x) && x.dim() == 4 && x.stride(-1) == 1 && x.size(-1) % 2 == 0 && cos.defined() &&
         cos.scalar_type() == x.scalar_type() && cos.is_contiguous() && cos.dim() == 4 && cos.size(0) == x.size(0) &&
         cos.size(1) == 1 && cos.size(2) == x.size(2) && cos.size(3) == x.size(3);
}

torch::Tensor rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  return RopeFunction::apply(x, cos, sin);
}

bool rope_and_store_applies(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                            const torch::Tensor& cos, const torch::Tensor& sin, const torch::Tensor& k_cache) {
  if (torch::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad())) return false;
  if (!rope_applies(q, cos, sin) || !rope_applies(k, cos, sin) || q.size(2) != 1) return false;
  return v.sizes() == k.sizes() && v.stride(-1) == 1 && v.scalar_type() == q.scalar_type() &&
         k_cache.scalar_type() == q.scalar_type() && k_cache.dim() == 4 && k_cache.is_contiguous() &&
         k_cache.device() == q.device() && k_cache.size(0) == k.size(0) && k_cache.size(1) == k.size(1) &&
         k_cache.size(3) == k.size(3);
}

torch::Tensor rope_and_store(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const torch::Tensor& cos, const torch::Tensor& sin, const torch::Tensor& k_cache,
                             const torch::Tensor& v_cache, const torch::Tensor& slot) {
  const compat::DeviceScope scope(q.device());
  // The kernel writes both caches with k_cache's strides.
  TORCH_CHECK(v_cache.sizes() == k_cache.sizes() && v_cache.strides() == k_cache.strides() &&
                  v_cache.scalar_type() == k_cache.scalar_type(),
              "rope_and_store: the value cache must be laid out as the key cache");
  torch::Tensor q_out = torch::empty_like(q);
  const kernels::RopeStoreShape shape{q.size(0), q.size(1), k.size(1), q.size(3),
                                      {q.stride(0), q.stride(1)}, {k.stride(0), k.stride(1)},
                                      {v.stride(0), v.stride(1)}, {q_out.stride(0), q_out.stride(1)},
                                      {k_cache.stride(0), k_cache.stride(1), k_cache.stride(2)}};
  kernels::rope_and_store(dtype_of(q), q.data_ptr(), k.data_ptr(), v.data_ptr(), cos.data_ptr(), sin.data_ptr(),
                          q_out.data_ptr(), k_cache.data_ptr(), v_cache.data_ptr(), slot.data_ptr<int64_t>(), shape,
                          stream_of(q));
  return q_out;
}

}  // namespace lmf::torch_backend::fused
