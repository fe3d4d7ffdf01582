// fusedops::group_norm: argument checks, the meta kernels and the device-generic halves of the CPU and CUDA kernels.
#include "ops/group_norm/group_norm.h"

#include <ATen/OpMathType.h>

#include "ops/common/checks.h"
#include "ops/common/tensors.h"

namespace fusedops {

void check_group_norm_params(const c10::SymInt& channels, int64_t num_groups, const std::optional<at::Tensor>& weight,
                             const std::optional<at::Tensor>& bias, const at::Tensor& input, const char* op) {
  TORCH_CHECK(num_groups >= 1, op, ": num_groups must be >= 1, got ", text(num_groups));
  TORCH_CHECK(channels % num_groups == 0, op, ": the channels (", text(channels), ") must be divisible by num_groups (",
              text(num_groups), ")");
  for (const auto& [param, name] : {std::pair{&weight, "GroupNorm weight"}, std::pair{&bias, "GroupNorm bias"}}) {
    if (!param->has_value()) continue;
    const at::Tensor& t = **param;
    TORCH_CHECK(t.dim() == 1 && t.sym_size(0) == channels, op, ": ", name, " must have shape (C) = (", text(channels),
                "), got ", text(t.sym_sizes()));
    check_same_dtype(t, name, input, "input", op);
    check_same_device(t, name, input, "input", op);
  }
}

void check_group_norm(const at::Tensor& input, int64_t num_groups, const std::optional<at::Tensor>& weight,
                      const std::optional<at::Tensor>& bias, const char* op) {
  TORCH_CHECK(input.dim() >= 2, op, ": input must be at least 2-D (N, C, *), got shape ", text(input.sym_sizes()));
  check_float(input, op, "input");
  check_group_norm_params(input.sym_size(1), num_groups, weight, bias, input, op);
}

at::Tensor group_norm_meta(const at::Tensor& input, int64_t num_groups, const std::optional<at::Tensor>& weight,
                           const std::optional<at::Tensor>& bias, double) {
  check_group_norm(input, num_groups, weight, bias, "fusedops::group_norm");
  return at::empty_symint(input.sym_sizes(), input.options());
}

namespace {
void check_backward(const at::Tensor& grad_output, const at::Tensor& input, int64_t num_groups,
                    const std::optional<at::Tensor>& weight) {
  const char* op = "fusedops::group_norm_backward";
  check_group_norm(input, num_groups, weight, std::nullopt, op);
  check_same_dtype(grad_output, "grad_output", input, "input", op);
  check_same_device(grad_output, "grad_output", input, "input", op);
  TORCH_CHECK(grad_output.sym_sizes() == input.sym_sizes(), op, ": grad_output must have the input's shape ",
              text(input.sym_sizes()), ", got ", text(grad_output.sym_sizes()));
}
}  // namespace

GroupNormBackwardResult group_norm_backward_meta(FUSEDOPS_GROUP_NORM_BACKWARD_ARGS) {
  check_backward(grad_output, input, num_groups, weight);
  const auto per_channel = [&] { return at::empty_symint({input.sym_size(1)}, input.options()); };
  return {output_mask[0] ? at::empty_symint(input.sym_sizes(), input.options()) : at::Tensor(),
          output_mask[1] && weight.has_value() ? per_channel() : at::Tensor(),
          output_mask[2] ? per_channel() : at::Tensor()};
}

at::Tensor group_norm_with(const GroupNormKernels& k, const at::Tensor& input, int64_t num_groups,
                           const std::optional<at::Tensor>& weight, const std::optional<at::Tensor>& bias, double eps) {
  check_group_norm(input, num_groups, weight, bias, "fusedops::group_norm");
  const at::Tensor x = input.contiguous();
  at::Tensor out = at::empty_like(x);
  if (out.numel() > 0) {
    k.forward(Prelude::kIdentity, {}, x, num_groups, contiguous_or_undefined(weight),
              contiguous_or_undefined(bias), eps, out);
  }
  return out;
}

GroupNormGrads group_norm_engine_backward(const GroupNormKernels& k, Prelude kind, const PreludeParams& params,
                                          const at::Tensor& grad_out, const at::Tensor& c, int64_t num_groups,
                                          const at::Tensor& gamma, double eps, bool need_input, bool need_weight,
                                          bool need_bias) {
  const auto opmath_options = c.options().dtype(at::toOpMathType(c.scalar_type()));
  const int64_t n_params = kind == Prelude::kAddScaleSigmoid ? 2 : 0;
  at::Tensor dc = need_input ? at::empty_like(c) : at::Tensor();
  at::Tensor dgamma = at::empty({c.size(0), c.size(1)}, opmath_options), dbeta = at::empty_like(dgamma);
  at::Tensor dparams = at::empty({n_params, c.size(0), c.size(1)}, opmath_options);
  k.backward(kind, params, grad_out, c, num_groups, gamma, eps, dc, dgamma, dbeta, dparams);
  GroupNormGrads grads;
  grads.input = dc;
  if (need_weight) grads.weight = dgamma.sum(0).to(c.scalar_type());
  if (need_bias) grads.bias = dbeta.sum(0).to(c.scalar_type());
  if (n_params == 2) {
    grads.prelude_bias = dparams[0].sum(0);  // separate tensors: the operators' outputs must not alias
    grads.prelude_scale = dparams[1].sum(0);
  }
  return grads;
}

GroupNormBackwardResult group_norm_backward_with(const GroupNormKernels& k, FUSEDOPS_GROUP_NORM_BACKWARD_ARGS) {
  check_backward(grad_output, input, num_groups, weight);
  const at::Tensor x = input.contiguous();
  if (x.numel() == 0) {  // nothing to normalize: the parameters' gradients are empty sums
    const auto zeros = [&] { return at::zeros({x.size(1)}, x.options()); };
    return {output_mask[0] ? at::empty_like(x) : at::Tensor(),
            output_mask[1] && weight.has_value() ? zeros() : at::Tensor(), output_mask[2] ? zeros() : at::Tensor()};
  }
  const GroupNormGrads g = group_norm_engine_backward(
      k, Prelude::kIdentity, {}, grad_output.contiguous(), x, num_groups, contiguous_or_undefined(weight),
      eps, output_mask[0], output_mask[1] && weight.has_value(), output_mask[2]);
  return {g.input, g.weight, g.bias};
}

}  // namespace fusedops
