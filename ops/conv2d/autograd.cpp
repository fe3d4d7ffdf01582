// fusedops::conv2d and fusedops::conv_transpose2d at the Autograd key: C++ autograd Functions whose backward calls the
// `*_backward` operator. Each saves the input and the weight (each needed for the other's gradient), nothing else.
#include "ops/common/autograd.h"

#include "fusedops/fusedops.h"
#include "ops/conv2d/conv2d.h"

namespace fusedops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::array<bool, 3> grad_mask(AutogradContext* ctx) {
  return {ctx->needs_input_grad(0), ctx->needs_input_grad(1),
          ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(2)};
}

class Conv2dFunction : public torch::autograd::Function<Conv2dFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& weight,
                            const std::optional<at::Tensor>& bias, at::IntArrayRef stride, at::IntArrayRef padding,
                            at::IntArrayRef dilation, int64_t groups) {
    ctx->save_for_backward({input, weight});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    ctx->saved_data["dilation"] = dilation;
    ctx->saved_data["groups"] = groups;
    ctx->saved_data["has_bias"] = bias.has_value();
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return fusedops::conv2d(input, weight, bias, stride, padding, dilation, groups);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    auto [gi, gw, gb] = fusedops::conv2d_backward(
        grads[0], saved[0], saved[1], ctx->saved_data["stride"].toIntVector(), ctx->saved_data["padding"].toIntVector(),
        ctx->saved_data["dilation"].toIntVector(), ctx->saved_data["groups"].toInt(), grad_mask(ctx));
    return {gi, gw, gb, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};  // none for the ints
  }
};

class ConvTranspose2dFunction : public torch::autograd::Function<ConvTranspose2dFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& weight,
                            const std::optional<at::Tensor>& bias, at::IntArrayRef stride, at::IntArrayRef padding,
                            at::IntArrayRef output_padding, int64_t groups, at::IntArrayRef dilation) {
    ctx->save_for_backward({input, weight});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    ctx->saved_data["output_padding"] = output_padding;
    ctx->saved_data["groups"] = groups;
    ctx->saved_data["dilation"] = dilation;
    ctx->saved_data["has_bias"] = bias.has_value();
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return fusedops::conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    auto [gi, gw, gb] = fusedops::conv_transpose2d_backward(
        grads[0], saved[0], saved[1], ctx->saved_data["stride"].toIntVector(), ctx->saved_data["padding"].toIntVector(),
        ctx->saved_data["output_padding"].toIntVector(), ctx->saved_data["groups"].toInt(),
        ctx->saved_data["dilation"].toIntVector(), grad_mask(ctx));
    return {gi, gw, gb, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

ConvGrads refuse_second(const char* op, const at::Tensor& grad_output, const at::Tensor& input,
                        const at::Tensor& weight, const ConvGrads& grads) {
  auto outs = refuse_double_backward(op, {grad_output, input, weight},
                                     {std::get<0>(grads), std::get<1>(grads), std::get<2>(grads)});
  return {outs[0], outs[1], outs[2]};
}

}  // namespace

at::Tensor conv2d_autograd(FUSEDOPS_CONV2D_ARGS) {
  if (any_requires_grad({input, weight, bias})) {
    return Conv2dFunction::apply(input, weight, bias, stride, padding, dilation, groups);
  }
  at::AutoDispatchBelowADInplaceOrView below_autograd;
  return fusedops::conv2d(input, weight, bias, stride, padding, dilation, groups);
}

ConvGrads conv2d_backward_autograd(FUSEDOPS_CONV2D_BACKWARD_ARGS) {
  const ConvGrads grads = [&] {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return fusedops::conv2d_backward(grad_output, input, weight, stride, padding, dilation, groups, output_mask);
  }();
  return refuse_second("fusedops::conv2d_backward", grad_output, input, weight, grads);
}

at::Tensor conv_transpose2d_autograd(FUSEDOPS_CONV_TRANSPOSE2D_ARGS) {
  if (any_requires_grad({input, weight, bias})) {
    return ConvTranspose2dFunction::apply(input, weight, bias, stride, padding, output_padding, groups, dilation);
  }
  at::AutoDispatchBelowADInplaceOrView below_autograd;
  return fusedops::conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation);
}

ConvGrads conv_transpose2d_backward_autograd(FUSEDOPS_CONV_TRANSPOSE2D_BACKWARD_ARGS) {
  const ConvGrads grads = [&] {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return fusedops::conv_transpose2d_backward(grad_output, input, weight, stride, padding, output_padding, groups,
                                               dilation, output_mask);
  }();
  return refuse_second("fusedops::conv_transpose2d_backward", grad_output, input, weight, grads);
}

}  // namespace fusedops
