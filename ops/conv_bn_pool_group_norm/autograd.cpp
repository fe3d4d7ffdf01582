// The L2_11 chain at the Autograd key. When a gradient is needed, a C++ autograd Function runs the `*_forward` operator
// and saves: the input and the convolution weight (the convolution's gradients), the convolution's output c and the
// BatchNorm statistics that normalized it ((C,) each; tanh, the max-pool's choices and GroupNorm's statistics are
// recomputed from them in the backward's passes), and the BatchNorm and GroupNorm parameters. Nothing else.
// The running statistics are updated in place by the operator below; their version counters are bumped here, as
// in-place ATen operators do, so autograd notices a saved copy going stale.
#include "ops/common/autograd.h"

#include <torch/csrc/autograd/VariableTypeUtils.h>

#include "fusedops/fusedops.h"
#include "ops/conv_bn_pool_group_norm/conv_bn_pool_group_norm.h"

namespace fusedops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr const char* kOp = "fusedops::conv_transpose2d_batch_norm_tanh_max_pool_group_norm";

void bump_running_stats(bool training, const std::optional<at::Tensor>& running_mean,
                        const std::optional<at::Tensor>& running_var) {
  if (!training) return;
  for (const auto* t : {&running_mean, &running_var}) {
    if (t->has_value()) torch::autograd::increment_version(**t);
  }
}

class L2_11Function : public torch::autograd::Function<L2_11Function> {
 public:
  static at::Tensor forward(AutogradContext* ctx, FUSEDOPS_L2_11_ARGS) {
    auto [out, conv_output, mean, invstd] = [&] {
      at::AutoDispatchBelowADInplaceOrView below_autograd;
      return fusedops::conv_transpose2d_batch_norm_tanh_max_pool_group_norm_forward(
          input, weight, bias, bn_weight, bn_bias, running_mean, running_var, training, momentum, bn_eps, pool_kernel,
          pool_stride, num_groups, gn_weight, gn_bias, gn_eps, stride, padding, output_padding, groups, dilation);
    }();
    bump_running_stats(training, running_mean, running_var);
    ctx->save_for_backward({input, weight, conv_output, mean, invstd, bn_weight.value_or(at::Tensor()),
                            bn_bias.value_or(at::Tensor()), gn_weight.value_or(at::Tensor()),
                            gn_bias.value_or(at::Tensor())});
    ctx->saved_data["training"] = training;
    ctx->saved_data["pool_kernel"] = pool_kernel;
    ctx->saved_data["pool_stride"] = pool_stride;
    ctx->saved_data["num_groups"] = num_groups;
    ctx->saved_data["gn_eps"] = gn_eps;
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
    const auto& d = ctx->saved_data;
    // needs_input_grad counts the tensors given: input 0, weight 1, the convolution's bias 2 when there is one.
    const std::array<bool, 3> mask{ctx->needs_input_grad(0), ctx->needs_input_grad(1),
                                   d.at("has_bias").toBool() && ctx->needs_input_grad(2)};
    auto [gi, gw, gb, gbnw, gbnb, ggnw, ggnb] = fusedops::conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward(
        grads[0], s[0], s[1], s[2], s[3], s[4], optional_of(s[5]), optional_of(s[6]), d.at("training").toBool(),
        d.at("pool_kernel").toIntVector(), d.at("pool_stride").toIntVector(), d.at("num_groups").toInt(),
        optional_of(s[7]), optional_of(s[8]), d.at("gn_eps").toDouble(), d.at("stride").toIntVector(),
        d.at("padding").toIntVector(), d.at("output_padding").toIntVector(), d.at("groups").toInt(),
        d.at("dilation").toIntVector(), mask);
    const at::Tensor none;
    // One entry per forward argument: none for the running statistics and the hyper-parameters.
    return {gi,   gw,   gb,   gbnw, gbnb, none, none, none, none, none, none,
            none, none, ggnw, ggnb, none, none, none, none, none, none};
  }
};

}  // namespace

at::Tensor conv_transpose2d_batch_norm_tanh_max_pool_group_norm_autograd(FUSEDOPS_L2_11_ARGS) {
  if (any_requires_grad({input, weight, bias, bn_weight, bn_bias, gn_weight, gn_bias})) {
    return L2_11Function::apply(input, weight, bias, bn_weight, bn_bias, running_mean, running_var, training, momentum,
                                bn_eps, pool_kernel, pool_stride, num_groups, gn_weight, gn_bias, gn_eps, stride,
                                padding, output_padding, groups, dilation);
  }
  at::Tensor out = [&] {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return fusedops::conv_transpose2d_batch_norm_tanh_max_pool_group_norm(
        input, weight, bias, bn_weight, bn_bias, running_mean, running_var, training, momentum, bn_eps, pool_kernel,
        pool_stride, num_groups, gn_weight, gn_bias, gn_eps, stride, padding, output_padding, groups, dilation);
  }();
  bump_running_stats(training, running_mean, running_var);
  return out;
}

L2_11Forward conv_transpose2d_batch_norm_tanh_max_pool_group_norm_forward_autograd(FUSEDOPS_L2_11_ARGS) {
  const L2_11Forward outs = [&] {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return fusedops::conv_transpose2d_batch_norm_tanh_max_pool_group_norm_forward(
        input, weight, bias, bn_weight, bn_bias, running_mean, running_var, training, momentum, bn_eps, pool_kernel,
        pool_stride, num_groups, gn_weight, gn_bias, gn_eps, stride, padding, output_padding, groups, dilation);
  }();
  bump_running_stats(training, running_mean, running_var);
  // The Function's first half, not differentiable by itself.
  auto o = refuse_double_backward(
      std::string(kOp) + "_forward (differentiate " + kOp + " instead)",
      {input, weight, bias.value_or(at::Tensor()), bn_weight.value_or(at::Tensor()), bn_bias.value_or(at::Tensor()),
       gn_weight.value_or(at::Tensor()), gn_bias.value_or(at::Tensor())},
      {std::get<0>(outs), std::get<1>(outs), std::get<2>(outs), std::get<3>(outs)});
  return {o[0], o[1], o[2], o[3]};
}

L2_11Grads conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward_autograd(FUSEDOPS_L2_11_BACKWARD_ARGS) {
  const L2_11Grads g = [&] {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return fusedops::conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward(
        grad_output, input, weight, conv_output, bn_mean, bn_invstd, bn_weight, bn_bias, training, pool_kernel,
        pool_stride, num_groups, gn_weight, gn_bias, gn_eps, stride, padding, output_padding, groups, dilation,
        conv_output_mask);
  }();
  auto o = refuse_double_backward(
      std::string(kOp) + "_backward",
      {grad_output, input, weight, conv_output, bn_weight.value_or(at::Tensor()), bn_bias.value_or(at::Tensor()),
       gn_weight.value_or(at::Tensor())},
      {std::get<0>(g), std::get<1>(g), std::get<2>(g), std::get<3>(g), std::get<4>(g), std::get<5>(g), std::get<6>(g)});
  return {o[0], o[1], o[2], o[3], o[4], o[5], o[6]};
}

}  // namespace fusedops
