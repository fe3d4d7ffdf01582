// The fused chains at the Autograd key. When a gradient is needed, a C++ autograd Function runs the `*_forward`
// operator, which also returns the convolution's output c, and
// saves: the input and the convolution weight (the convolution's gradients), c (the GroupNorm statistics and the
// elementwise steps' derivatives are recomputed from it in the backward's own passes), and the per-channel parameters.
// Nothing else: no activations, no statistics. Otherwise the chain runs with nothing saved.
#include "ops/common/autograd.h"

#include "fusedops/fusedops.h"
#include "ops/conv_group_norm/conv_group_norm.h"

namespace fusedops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class L2_21Function : public torch::autograd::Function<L2_21Function> {
 public:
  static at::Tensor forward(AutogradContext* ctx, FUSEDOPS_L2_21_ARGS) {
    auto [out, conv_output] = [&] {
      at::AutoDispatchBelowADInplaceOrView below_autograd;
      return fusedops::conv2d_add_scale_sigmoid_group_norm_forward(input, conv_weight, conv_bias, bias, scale,
                                                                   num_groups, gn_weight, gn_bias, eps, stride, padding,
                                                                   dilation, groups);
    }();
    ctx->save_for_backward({input, conv_weight, conv_output, bias, scale, gn_weight.value_or(at::Tensor()),
                            gn_bias.value_or(at::Tensor())});
    ctx->saved_data["num_groups"] = num_groups;
    ctx->saved_data["eps"] = eps;
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    ctx->saved_data["dilation"] = dilation;
    ctx->saved_data["groups"] = groups;
    ctx->saved_data["has_conv_bias"] = conv_bias.has_value();
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const std::array<bool, 3> mask{ctx->needs_input_grad(0), ctx->needs_input_grad(1),
                                   ctx->saved_data["has_conv_bias"].toBool() && ctx->needs_input_grad(2)};
    auto [gi, gw, gcb, gb, gs, ggw, ggb] = fusedops::conv2d_add_scale_sigmoid_group_norm_backward(
        grads[0], s[0], s[1], s[2], s[3], s[4], ctx->saved_data["num_groups"].toInt(), optional_of(s[5]),
        optional_of(s[6]), ctx->saved_data["eps"].toDouble(), ctx->saved_data["stride"].toIntVector(),
        ctx->saved_data["padding"].toIntVector(), ctx->saved_data["dilation"].toIntVector(),
        ctx->saved_data["groups"].toInt(), mask);
    // One entry per forward argument: none for num_groups, eps and the convolution's hyper-parameters.
    return {gi,  gw,           gcb,          gb,           gs,           at::Tensor(), ggw,
            ggb, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

class L2_19Function : public torch::autograd::Function<L2_19Function> {
 public:
  static at::Tensor forward(AutogradContext* ctx, FUSEDOPS_L2_19_ARGS) {
    auto [out, conv_output] = [&] {
      at::AutoDispatchBelowADInplaceOrView below_autograd;
      return fusedops::conv_transpose2d_gelu_group_norm_forward(input, weight, bias, num_groups, gn_weight, gn_bias,
                                                                eps, approximate, stride, padding, output_padding,
                                                                groups, dilation);
    }();
    ctx->save_for_backward(
        {input, weight, conv_output, gn_weight.value_or(at::Tensor()), gn_bias.value_or(at::Tensor())});
    ctx->saved_data["num_groups"] = num_groups;
    ctx->saved_data["eps"] = eps;
    ctx->saved_data["approximate"] = std::string(approximate);
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    ctx->saved_data["output_padding"] = output_padding;
    ctx->saved_data["groups"] = groups;
    ctx->saved_data["dilation"] = dilation;
    ctx->saved_data["has_bias"] = bias.has_value();
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const std::array<bool, 3> mask{ctx->needs_input_grad(0), ctx->needs_input_grad(1),
                                   ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(2)};
    auto [gi, gw, gb, ggw, ggb] = fusedops::conv_transpose2d_gelu_group_norm_backward(
        grads[0], s[0], s[1], s[2], ctx->saved_data["num_groups"].toInt(), optional_of(s[3]), optional_of(s[4]),
        ctx->saved_data["eps"].toDouble(), ctx->saved_data["approximate"].toStringRef(),
        ctx->saved_data["stride"].toIntVector(), ctx->saved_data["padding"].toIntVector(),
        ctx->saved_data["output_padding"].toIntVector(), ctx->saved_data["groups"].toInt(),
        ctx->saved_data["dilation"].toIntVector(), mask);
    return {gi,           gw,           gb,           at::Tensor(), ggw,          ggb,         at::Tensor(),
            at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// `*_forward` is the Function's first half, not differentiable by itself.
TensorPair not_differentiable(const char* op, std::initializer_list<std::optional<at::Tensor>> inputs,
                              const TensorPair& outs) {
  std::vector<at::Tensor> in;
  for (const auto& t : inputs) in.push_back(t.value_or(at::Tensor()));
  auto marked = refuse_double_backward(op, in, {std::get<0>(outs), std::get<1>(outs)});
  return {marked[0], marked[1]};
}

}  // namespace

at::Tensor conv2d_add_scale_sigmoid_group_norm_autograd(FUSEDOPS_L2_21_ARGS) {
  if (any_requires_grad({input, conv_weight, conv_bias, bias, scale, gn_weight, gn_bias})) {
    return L2_21Function::apply(input, conv_weight, conv_bias, bias, scale, num_groups, gn_weight, gn_bias, eps, stride,
                                padding, dilation, groups);
  }
  at::AutoDispatchBelowADInplaceOrView below_autograd;
  return fusedops::conv2d_add_scale_sigmoid_group_norm(input, conv_weight, conv_bias, bias, scale, num_groups,
                                                       gn_weight, gn_bias, eps, stride, padding, dilation, groups);
}

TensorPair conv2d_add_scale_sigmoid_group_norm_forward_autograd(FUSEDOPS_L2_21_ARGS) {
  const TensorPair outs = [&] {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return fusedops::conv2d_add_scale_sigmoid_group_norm_forward(input, conv_weight, conv_bias, bias, scale, num_groups,
                                                                 gn_weight, gn_bias, eps, stride, padding, dilation,
                                                                 groups);
  }();
  return not_differentiable(
      "fusedops::conv2d_add_scale_sigmoid_group_norm_forward (differentiate "
      "fusedops::conv2d_add_scale_sigmoid_group_norm instead)",
      {input, conv_weight, conv_bias, bias, scale, gn_weight, gn_bias}, outs);
}

L2_21Grads conv2d_add_scale_sigmoid_group_norm_backward_autograd(FUSEDOPS_L2_21_BACKWARD_ARGS) {
  const L2_21Grads g = [&] {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return fusedops::conv2d_add_scale_sigmoid_group_norm_backward(grad_output, input, conv_weight, conv_output, bias,
                                                                  scale, num_groups, gn_weight, gn_bias, eps, stride,
                                                                  padding, dilation, groups, conv_output_mask);
  }();
  auto o = refuse_double_backward(
      "fusedops::conv2d_add_scale_sigmoid_group_norm_backward",
      {grad_output, input, conv_weight, conv_output, bias, scale, gn_weight.value_or(at::Tensor())},
      {std::get<0>(g), std::get<1>(g), std::get<2>(g), std::get<3>(g), std::get<4>(g), std::get<5>(g), std::get<6>(g)});
  return {o[0], o[1], o[2], o[3], o[4], o[5], o[6]};
}

at::Tensor conv_transpose2d_gelu_group_norm_autograd(FUSEDOPS_L2_19_ARGS) {
  if (any_requires_grad({input, weight, bias, gn_weight, gn_bias})) {
    return L2_19Function::apply(input, weight, bias, num_groups, gn_weight, gn_bias, eps, approximate, stride, padding,
                                output_padding, groups, dilation);
  }
  at::AutoDispatchBelowADInplaceOrView below_autograd;
  return fusedops::conv_transpose2d_gelu_group_norm(input, weight, bias, num_groups, gn_weight, gn_bias, eps,
                                                    approximate, stride, padding, output_padding, groups, dilation);
}

TensorPair conv_transpose2d_gelu_group_norm_forward_autograd(FUSEDOPS_L2_19_ARGS) {
  const TensorPair outs = [&] {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return fusedops::conv_transpose2d_gelu_group_norm_forward(input, weight, bias, num_groups, gn_weight, gn_bias, eps,
                                                              approximate, stride, padding, output_padding, groups,
                                                              dilation);
  }();
  return not_differentiable(
      "fusedops::conv_transpose2d_gelu_group_norm_forward (differentiate "
      "fusedops::conv_transpose2d_gelu_group_norm instead)",
      {input, weight, bias, gn_weight, gn_bias}, outs);
}

L2_19Grads conv_transpose2d_gelu_group_norm_backward_autograd(FUSEDOPS_L2_19_BACKWARD_ARGS) {
  const L2_19Grads g = [&] {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return fusedops::conv_transpose2d_gelu_group_norm_backward(grad_output, input, weight, conv_output, num_groups,
                                                               gn_weight, gn_bias, eps, approximate, stride, padding,
                                                               output_padding, groups, dilation, conv_output_mask);
  }();
  auto o = refuse_double_backward("fusedops::conv_transpose2d_gelu_group_norm_backward",
                                  {grad_output, input, weight, conv_output, gn_weight.value_or(at::Tensor())},
                                  {std::get<0>(g), std::get<1>(g), std::get<2>(g), std::get<3>(g), std::get<4>(g)});
  return {o[0], o[1], o[2], o[3], o[4]};
}

}  // namespace fusedops
