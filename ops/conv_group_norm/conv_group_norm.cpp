// The fused convolution -> elementwise -> GroupNorm chains: checks, meta kernels, the device-generic bodies of the CPU
// and CUDA kernels, and the CPU kernels.
#include "ops/conv_group_norm/conv_group_norm.h"

#include <ATen/OpMathType.h>

#include "ops/common/checks.h"
#include "ops/common/tensors.h"
#include "ops/conv2d/conv2d.h"
#include "ops/group_norm/group_norm.h"

namespace fusedops {
namespace {

constexpr const char* kL2_21 = "fusedops::conv2d_add_scale_sigmoid_group_norm";
constexpr const char* kL2_19 = "fusedops::conv_transpose2d_gelu_group_norm";

// A per-channel parameter (see conv_group_norm.h for the accepted shapes).
void check_per_channel(const at::Tensor& t, const c10::SymInt& channels, const at::Tensor& input, const char* name,
                       const char* op) {
  check_same_dtype(t, name, input, "input", op);
  check_same_device(t, name, input, "input", op);
  bool ok = t.dim() <= 4;
  for (int64_t d = 0; ok && d < t.dim(); ++d) {
    const int64_t dim_from_right = t.dim() - 1 - d;  // 2 is the channel dimension of (N, C, H, W)
    ok = t.sym_size(d) == 1 || (dim_from_right == 2 && t.sym_size(d) == channels);
  }
  TORCH_CHECK(ok, op, ": ", name, " must broadcast per channel against (N, C, H, W), e.g. (C, 1, 1) = (",
              text(channels), ", 1, 1) or a single value; got shape ", text(t.sym_sizes()));
}

// The parameter as C values in the compute dtype, for the GroupNorm engine.
at::Tensor per_channel_values(const at::Tensor& t, int64_t channels) {
  return t.reshape({-1}).expand({channels}).to(at::toOpMathType(t.scalar_type())).contiguous();
}

// The engine's (C,) gradient, summed back to the parameter's own shape and dtype.
at::Tensor to_param_shape(const at::Tensor& per_channel, const at::Tensor& param) {
  const at::Tensor g = param.numel() == 1 ? per_channel.sum() : per_channel;
  return g.reshape(param.sizes()).to(param.scalar_type());
}

std::array<c10::SymInt, 4> check_l2_21(FUSEDOPS_L2_21_ARGS) {
  auto out = check_conv2d(input, conv_weight, conv_bias, stride, padding, dilation, groups, kL2_21);
  check_per_channel(bias, out[1], input, "bias", kL2_21);
  check_per_channel(scale, out[1], input, "scale", kL2_21);
  check_group_norm_params(out[1], num_groups, gn_weight, gn_bias, input, kL2_21);
  return out;
}

Prelude gelu_prelude(c10::string_view approximate, const char* op) {
  TORCH_CHECK(approximate == "none" || approximate == "tanh", op, ": approximate must be 'none' or 'tanh', got '",
              std::string(approximate), "'");
  return approximate == "tanh" ? Prelude::kGeluTanh : Prelude::kGelu;
}

std::array<c10::SymInt, 4> check_l2_19(FUSEDOPS_L2_19_ARGS) {
  auto out = check_conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation, kL2_19);
  gelu_prelude(approximate, kL2_19);
  check_group_norm_params(out[1], num_groups, gn_weight, gn_bias, input, kL2_19);
  return out;
}

void check_conv_output(const at::Tensor& conv_output, const at::Tensor& grad_output,
                       const std::array<c10::SymInt, 4>& out, const at::Tensor& input, const char* op) {
  for (const auto& [t, name] : {std::pair{&conv_output, "conv_output"}, std::pair{&grad_output, "grad_output"}}) {
    check_same_dtype(*t, name, input, "input", op);
    check_same_device(*t, name, input, "input", op);
    TORCH_CHECK(t->sym_sizes() == c10::SymIntArrayRef(out), op, ": ", name, " must have the output's shape ",
                text(c10::SymIntArrayRef(out)), ", got ", text(t->sym_sizes()));
  }
}

// GroupNorm(prelude(c)), in place unless the convolution's output is kept for the backward.
TensorPair normalize(const GroupNormKernels& gk, Prelude prelude, const PreludeParams& params, at::Tensor c,
                     int64_t num_groups, const std::optional<at::Tensor>& gn_weight,
                     const std::optional<at::Tensor>& gn_bias, double eps, bool keep_conv_output) {
  at::Tensor out = keep_conv_output ? at::empty_like(c) : c;
  if (c.numel() > 0) {
    gk.forward(prelude, params, c, num_groups, contiguous_or_undefined(gn_weight), contiguous_or_undefined(gn_bias),
               eps, out);
  }
  return {out, keep_conv_output ? c : at::Tensor()};
}

// d/dc of GroupNorm(prelude(c)) and the GroupNorm parameters' gradients.
GroupNormGrads normalize_backward(const GroupNormKernels& gk, Prelude prelude, const PreludeParams& params,
                                  const at::Tensor& grad_output, const at::Tensor& conv_output, int64_t num_groups,
                                  const std::optional<at::Tensor>& gn_weight, const std::optional<at::Tensor>& gn_bias,
                                  double eps, bool need_input) {
  const at::Tensor c = conv_output.contiguous();
  if (c.numel() == 0) {
    const auto zeros = [&] { return at::zeros({c.size(1)}, c.options().dtype(at::toOpMathType(c.scalar_type()))); };
    GroupNormGrads g{need_input ? at::empty_like(c) : at::Tensor(), zeros(), zeros(), zeros(), zeros()};
    g.weight = g.weight.to(c.scalar_type());
    g.bias = g.bias.to(c.scalar_type());
    return g;
  }
  return group_norm_engine_backward(gk, prelude, params, grad_output.contiguous(), c, num_groups,
                                    contiguous_or_undefined(gn_weight), eps, need_input, gn_weight.has_value(),
                                    gn_bias.has_value());
}

}  // namespace

TensorPair conv2d_add_scale_sigmoid_group_norm_with(const Conv2dKernels& ck, const GroupNormKernels& gk,
                                                    bool keep_conv_output, FUSEDOPS_L2_21_ARGS) {
  check_l2_21(input, conv_weight, conv_bias, bias, scale, num_groups, gn_weight, gn_bias, eps, stride, padding,
              dilation, groups);
  at::Tensor c = conv2d_forward(ck, input, conv_weight, conv_bias, stride, padding, dilation, groups);
  const PreludeParams params{per_channel_values(bias, c.size(1)), per_channel_values(scale, c.size(1))};
  return normalize(gk, Prelude::kAddScaleSigmoid, params, c, num_groups, gn_weight, gn_bias, eps, keep_conv_output);
}

L2_21Grads conv2d_add_scale_sigmoid_group_norm_backward_with(const Conv2dKernels& ck, const GroupNormKernels& gk,
                                                             FUSEDOPS_L2_21_BACKWARD_ARGS) {
  const auto out = check_l2_21(input, conv_weight, std::nullopt, bias, scale, num_groups, gn_weight, gn_bias, eps,
                               stride, padding, dilation, groups);
  check_conv_output(conv_output, grad_output, out, input, kL2_21);
  const int64_t channels = conv_output.size(1);
  const PreludeParams params{per_channel_values(bias, channels), per_channel_values(scale, channels)};
  const bool any_conv = conv_output_mask[0] || conv_output_mask[1] || conv_output_mask[2];
  const GroupNormGrads g = normalize_backward(gk, Prelude::kAddScaleSigmoid, params, grad_output, conv_output,
                                              num_groups, gn_weight, gn_bias, eps, any_conv);
  at::Tensor gi, gw, gb;
  if (any_conv) {
    std::tie(gi, gw, gb) =
        conv2d_backward_with(ck, conv2d_geometry(input, conv_weight, stride, padding, dilation, groups), g.input, input,
                             conv_weight, conv_output_mask);
  }
  return {gi, gw, gb, to_param_shape(g.prelude_bias, bias), to_param_shape(g.prelude_scale, scale), g.weight, g.bias};
}

TensorPair conv_transpose2d_gelu_group_norm_with(const Conv2dKernels& ck, const GroupNormKernels& gk,
                                                 bool keep_conv_output, FUSEDOPS_L2_19_ARGS) {
  check_l2_19(input, weight, bias, num_groups, gn_weight, gn_bias, eps, approximate, stride, padding, output_padding,
              groups, dilation);
  at::Tensor c = conv_transpose2d_forward(ck, input, weight, bias, stride, padding, output_padding, groups, dilation);
  return normalize(gk, gelu_prelude(approximate, kL2_19), {}, c, num_groups, gn_weight, gn_bias, eps, keep_conv_output);
}

L2_19Grads conv_transpose2d_gelu_group_norm_backward_with(const Conv2dKernels& ck, const GroupNormKernels& gk,
                                                          FUSEDOPS_L2_19_BACKWARD_ARGS) {
  const auto out = check_l2_19(input, weight, std::nullopt, num_groups, gn_weight, gn_bias, eps, approximate, stride,
                               padding, output_padding, groups, dilation);
  check_conv_output(conv_output, grad_output, out, input, kL2_19);
  const bool any_conv = conv_output_mask[0] || conv_output_mask[1] || conv_output_mask[2];
  const GroupNormGrads g = normalize_backward(gk, gelu_prelude(approximate, kL2_19), {}, grad_output, conv_output,
                                              num_groups, gn_weight, gn_bias, eps, any_conv);
  at::Tensor gi, gw, gb;
  if (any_conv) {
    std::tie(gi, gw, gb) = conv_transpose2d_backward_with(
        ck, conv_transpose2d_geometry(input, weight, stride, padding, output_padding, groups, dilation), g.input, input,
        weight, conv_output_mask);
  }
  return {gi, gw, gb, g.weight, g.bias};
}

// Meta kernels.
at::Tensor conv2d_add_scale_sigmoid_group_norm_meta(FUSEDOPS_L2_21_ARGS) {
  return at::empty_symint(check_l2_21(input, conv_weight, conv_bias, bias, scale, num_groups, gn_weight, gn_bias, eps,
                                      stride, padding, dilation, groups),
                          input.options());
}

TensorPair conv2d_add_scale_sigmoid_group_norm_forward_meta(FUSEDOPS_L2_21_ARGS) {
  const at::Tensor out =
      conv2d_add_scale_sigmoid_group_norm_meta(input, conv_weight, conv_bias, bias, scale, num_groups, gn_weight,
                                               gn_bias, eps, stride, padding, dilation, groups);
  return {out, at::empty_like(out)};
}

L2_21Grads conv2d_add_scale_sigmoid_group_norm_backward_meta(FUSEDOPS_L2_21_BACKWARD_ARGS) {
  const auto out = check_l2_21(input, conv_weight, std::nullopt, bias, scale, num_groups, gn_weight, gn_bias, eps,
                               stride, padding, dilation, groups);
  check_conv_output(conv_output, grad_output, out, input, kL2_21);
  const auto like = [](const at::Tensor& t) { return at::empty_symint(t.sym_sizes(), t.options()); };
  const auto channels = [&] { return at::empty_symint({out[1]}, input.options()); };
  return {conv_output_mask[0] ? like(input) : at::Tensor(),
          conv_output_mask[1] ? like(conv_weight) : at::Tensor(),
          conv_output_mask[2] ? channels() : at::Tensor(),
          like(bias),
          like(scale),
          gn_weight ? channels() : at::Tensor(),
          gn_bias ? channels() : at::Tensor()};
}

at::Tensor conv_transpose2d_gelu_group_norm_meta(FUSEDOPS_L2_19_ARGS) {
  return at::empty_symint(check_l2_19(input, weight, bias, num_groups, gn_weight, gn_bias, eps, approximate, stride,
                                      padding, output_padding, groups, dilation),
                          input.options());
}

TensorPair conv_transpose2d_gelu_group_norm_forward_meta(FUSEDOPS_L2_19_ARGS) {
  const at::Tensor out =
      conv_transpose2d_gelu_group_norm_meta(input, weight, bias, num_groups, gn_weight, gn_bias, eps, approximate,
                                            stride, padding, output_padding, groups, dilation);
  return {out, at::empty_like(out)};
}

L2_19Grads conv_transpose2d_gelu_group_norm_backward_meta(FUSEDOPS_L2_19_BACKWARD_ARGS) {
  const auto out = check_l2_19(input, weight, std::nullopt, num_groups, gn_weight, gn_bias, eps, approximate, stride,
                               padding, output_padding, groups, dilation);
  check_conv_output(conv_output, grad_output, out, input, kL2_19);
  const auto like = [](const at::Tensor& t) { return at::empty_symint(t.sym_sizes(), t.options()); };
  const auto channels = [&] { return at::empty_symint({out[1]}, input.options()); };
  return {conv_output_mask[0] ? like(input) : at::Tensor(), conv_output_mask[1] ? like(weight) : at::Tensor(),
          conv_output_mask[2] ? channels() : at::Tensor(), gn_weight ? channels() : at::Tensor(),
          gn_bias ? channels() : at::Tensor()};
}

// CPU kernels; the CUDA ones (cuda.cu) add a device guard.
at::Tensor conv2d_add_scale_sigmoid_group_norm_cpu(FUSEDOPS_L2_21_ARGS) {
  return std::get<0>(conv2d_add_scale_sigmoid_group_norm_with(
      conv2d_cpu_kernels, group_norm_cpu_kernels, false, input, conv_weight, conv_bias, bias, scale, num_groups,
      gn_weight, gn_bias, eps, stride, padding, dilation, groups));
}

TensorPair conv2d_add_scale_sigmoid_group_norm_forward_cpu(FUSEDOPS_L2_21_ARGS) {
  return conv2d_add_scale_sigmoid_group_norm_with(conv2d_cpu_kernels, group_norm_cpu_kernels, true, input, conv_weight,
                                                  conv_bias, bias, scale, num_groups, gn_weight, gn_bias, eps, stride,
                                                  padding, dilation, groups);
}

L2_21Grads conv2d_add_scale_sigmoid_group_norm_backward_cpu(FUSEDOPS_L2_21_BACKWARD_ARGS) {
  return conv2d_add_scale_sigmoid_group_norm_backward_with(
      conv2d_cpu_kernels, group_norm_cpu_kernels, grad_output, input, conv_weight, conv_output, bias, scale, num_groups,
      gn_weight, gn_bias, eps, stride, padding, dilation, groups, conv_output_mask);
}

at::Tensor conv_transpose2d_gelu_group_norm_cpu(FUSEDOPS_L2_19_ARGS) {
  return std::get<0>(conv_transpose2d_gelu_group_norm_with(
      conv2d_cpu_kernels, group_norm_cpu_kernels, false, input, weight, bias, num_groups, gn_weight, gn_bias, eps,
      approximate, stride, padding, output_padding, groups, dilation));
}

TensorPair conv_transpose2d_gelu_group_norm_forward_cpu(FUSEDOPS_L2_19_ARGS) {
  return conv_transpose2d_gelu_group_norm_with(conv2d_cpu_kernels, group_norm_cpu_kernels, true, input, weight, bias,
                                               num_groups, gn_weight, gn_bias, eps, approximate, stride, padding,
                                               output_padding, groups, dilation);
}

L2_19Grads conv_transpose2d_gelu_group_norm_backward_cpu(FUSEDOPS_L2_19_BACKWARD_ARGS) {
  return conv_transpose2d_gelu_group_norm_backward_with(
      conv2d_cpu_kernels, group_norm_cpu_kernels, grad_output, input, weight, conv_output, num_groups, gn_weight,
      gn_bias, eps, approximate, stride, padding, output_padding, groups, dilation, conv_output_mask);
}

}  // namespace fusedops
