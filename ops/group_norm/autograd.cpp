// fusedops::group_norm at the Autograd key: a C++ autograd Function whose backward calls fusedops::group_norm_backward.
// It saves the input and the weight; the backward recomputes the group statistics from the input in the pass it needs
// anyway.
#include "ops/common/autograd.h"

#include "fusedops/fusedops.h"
#include "ops/group_norm/group_norm.h"

namespace fusedops {
namespace {

class GroupNormFunction : public torch::autograd::Function<GroupNormFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input, int64_t num_groups,
                            const std::optional<at::Tensor>& weight, const std::optional<at::Tensor>& bias,
                            double eps) {
    ctx->save_for_backward({input, weight.value_or(at::Tensor())});
    ctx->saved_data["num_groups"] = num_groups;
    ctx->saved_data["eps"] = eps;
    ctx->saved_data["has_bias"] = bias.has_value();
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return fusedops::group_norm(input, num_groups, weight, bias, eps);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const std::optional<at::Tensor> weight = saved[1].defined() ? std::optional(saved[1]) : std::nullopt;
    // needs_input_grad counts the tensor arguments given: input, then weight and bias where present.
    const std::array<bool, 3> mask{
        ctx->needs_input_grad(0), weight.has_value() && ctx->needs_input_grad(1),
        ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(weight.has_value() ? 2 : 1)};
    auto [gi, gw, gb] = fusedops::group_norm_backward(grads[0], saved[0], ctx->saved_data["num_groups"].toInt(), weight,
                                                      ctx->saved_data["eps"].toDouble(), mask);
    return {gi, at::Tensor(), gw, gb, at::Tensor()};
  }
};

}  // namespace

at::Tensor group_norm_autograd(const at::Tensor& input, int64_t num_groups, const std::optional<at::Tensor>& weight,
                               const std::optional<at::Tensor>& bias, double eps) {
  if (any_requires_grad({input, weight, bias})) return GroupNormFunction::apply(input, num_groups, weight, bias, eps);
  at::AutoDispatchBelowADInplaceOrView below_autograd;
  return fusedops::group_norm(input, num_groups, weight, bias, eps);
}

GroupNormBackwardResult group_norm_backward_autograd(FUSEDOPS_GROUP_NORM_BACKWARD_ARGS) {
  auto grads = [&] {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return fusedops::group_norm_backward(grad_output, input, num_groups, weight, eps, output_mask);
  }();
  auto outs =
      refuse_double_backward("fusedops::group_norm_backward", {grad_output, input, weight.value_or(at::Tensor())},
                             {std::get<0>(grads), std::get<1>(grads), std::get<2>(grads)});
  return {outs[0], outs[1], outs[2]};
}

}  // namespace fusedops
