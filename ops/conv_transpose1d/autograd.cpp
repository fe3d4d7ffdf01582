// fusedops::conv_transpose1d at the Autograd key: a C++ autograd Function whose backward is
// fusedops::conv_transpose1d_backward. It saves the input and the weight (both needed for the other's
// gradient), nothing else.
#include "fusedops/fusedops.h"
#include "ops/common/autograd.h"
#include "ops/conv_transpose1d/conv_transpose1d.h"

namespace fusedops {
namespace {

class ConvTranspose1dFunction : public torch::autograd::Function<ConvTranspose1dFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input, const at::Tensor& weight,
                            const std::optional<at::Tensor>& bias, int64_t stride, int64_t padding,
                            int64_t output_padding, int64_t groups, int64_t dilation) {
    ctx->save_for_backward({input, weight});
    ctx->saved_data["params"] = std::vector<int64_t>{stride, padding, output_padding, groups, dilation};
    ctx->saved_data["has_bias"] = bias.has_value();
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return fusedops::conv_transpose1d(input, weight, bias, stride, padding, output_padding, groups, dilation);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto p = ctx->saved_data["params"].toIntVector();
    const std::array<bool, 3> mask{ctx->needs_input_grad(0), ctx->needs_input_grad(1),
                                   ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(2)};
    auto [grad_input, grad_weight, grad_bias] =
        fusedops::conv_transpose1d_backward(grads[0], saved[0], saved[1], p[0], p[1], p[2], p[3], p[4], mask);
    // One entry per forward argument; the five ints get none.
    return {grad_input, grad_weight, grad_bias, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor conv_transpose1d_autograd(const at::Tensor& input, const at::Tensor& weight,
                                     const std::optional<at::Tensor>& bias, int64_t stride, int64_t padding,
                                     int64_t output_padding, int64_t groups, int64_t dilation) {
  if (any_requires_grad({input, weight, bias})) {
    return ConvTranspose1dFunction::apply(input, weight, bias, stride, padding, output_padding, groups, dilation);
  }
  at::AutoDispatchBelowADInplaceOrView below_autograd;
  return fusedops::conv_transpose1d(input, weight, bias, stride, padding, output_padding, groups, dilation);
}

ConvGrads conv_transpose1d_backward_autograd(const at::Tensor& grad_output, const at::Tensor& input,
                                             const at::Tensor& weight, int64_t stride, int64_t padding,
                                             int64_t output_padding, int64_t groups, int64_t dilation,
                                             std::array<bool, 3> output_mask) {
  auto grads = [&] {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return fusedops::conv_transpose1d_backward(grad_output, input, weight, stride, padding, output_padding, groups,
                                               dilation, output_mask);
  }();
  auto outs = refuse_double_backward("fusedops::conv_transpose1d_backward", {grad_output, input, weight},
                                     {std::get<0>(grads), std::get<1>(grads), std::get<2>(grads)});
  return {outs[0], outs[1], outs[2]};
}

}  // namespace fusedops
