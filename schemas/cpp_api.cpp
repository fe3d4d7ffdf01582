// include/fusedops/fusedops.h: typed calls into the dispatcher, one per schema in fusedops.cpp.
#include "fusedops/fusedops.h"

#include <ATen/core/dispatch/Dispatcher.h>

namespace fusedops {
namespace {

template <typename Signature>
c10::TypedOperatorHandle<Signature> find_op(const char* name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, "").typed<Signature>();
}

}  // namespace

const char* torch_version() { return FUSEDOPS_TORCH_VERSION; }

at::Tensor add(const at::Tensor& a, const at::Tensor& b) {
  static const auto op = find_op<at::Tensor(const at::Tensor&, const at::Tensor&)>("fusedops::add");
  return op.call(a, b);
}

std::tuple<at::Tensor, at::Tensor> add_backward(const at::Tensor& grad_output, c10::SymIntArrayRef a_size,
                                                at::ScalarType a_dtype, c10::SymIntArrayRef b_size,
                                                at::ScalarType b_dtype) {
  static const auto op = find_op<std::tuple<at::Tensor, at::Tensor>(
      const at::Tensor&, c10::SymIntArrayRef, at::ScalarType, c10::SymIntArrayRef, at::ScalarType)>(
      "fusedops::add_backward");
  return op.call(grad_output, a_size, a_dtype, b_size, b_dtype);
}

at::Tensor conv_transpose1d(const at::Tensor& input, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                            int64_t stride, int64_t padding, int64_t output_padding, int64_t groups,
                            int64_t dilation) {
  static const auto op = find_op<at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&,
                                            int64_t, int64_t, int64_t, int64_t, int64_t)>("fusedops::conv_transpose1d");
  return op.call(input, weight, bias, stride, padding, output_padding, groups, dilation);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> conv_transpose1d_backward(
    const at::Tensor& grad_output, const at::Tensor& input, const at::Tensor& weight, int64_t stride, int64_t padding,
    int64_t output_padding, int64_t groups, int64_t dilation, std::array<bool, 3> output_mask) {
  static const auto op =
      find_op<std::tuple<at::Tensor, at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                                             int64_t, int64_t, int64_t, int64_t, int64_t,
                                                             std::array<bool, 3>)>("fusedops::conv_transpose1d_backward");
  return op.call(grad_output, input, weight, stride, padding, output_padding, groups, dilation, output_mask);
}

at::Tensor conv2d(const at::Tensor& input, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                  at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups) {
  static const auto op =
      find_op<at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, at::IntArrayRef,
                         at::IntArrayRef, at::IntArrayRef, int64_t)>("fusedops::conv2d");
  return op.call(input, weight, bias, stride, padding, dilation, groups);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> conv2d_backward(const at::Tensor& grad_output, const at::Tensor& input,
                                                               const at::Tensor& weight, at::IntArrayRef stride,
                                                               at::IntArrayRef padding, at::IntArrayRef dilation,
                                                               int64_t groups, std::array<bool, 3> output_mask) {
  static const auto op = find_op<std::tuple<at::Tensor, at::Tensor, at::Tensor>(
      const at::Tensor&, const at::Tensor&, const at::Tensor&, at::IntArrayRef, at::IntArrayRef, at::IntArrayRef,
      int64_t, std::array<bool, 3>)>("fusedops::conv2d_backward");
  return op.call(grad_output, input, weight, stride, padding, dilation, groups, output_mask);
}

at::Tensor conv_transpose2d(const at::Tensor& input, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                            at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef output_padding,
                            int64_t groups, at::IntArrayRef dilation) {
  static const auto op =
      find_op<at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, at::IntArrayRef,
                         at::IntArrayRef, at::IntArrayRef, int64_t, at::IntArrayRef)>("fusedops::conv_transpose2d");
  return op.call(input, weight, bias, stride, padding, output_padding, groups, dilation);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> conv_transpose2d_backward(
    const at::Tensor& grad_output, const at::Tensor& input, const at::Tensor& weight, at::IntArrayRef stride,
    at::IntArrayRef padding, at::IntArrayRef output_padding, int64_t groups, at::IntArrayRef dilation,
    std::array<bool, 3> output_mask) {
  static const auto op = find_op<std::tuple<at::Tensor, at::Tensor, at::Tensor>(
      const at::Tensor&, const at::Tensor&, const at::Tensor&, at::IntArrayRef, at::IntArrayRef, at::IntArrayRef,
      int64_t, at::IntArrayRef, std::array<bool, 3>)>("fusedops::conv_transpose2d_backward");
  return op.call(grad_output, input, weight, stride, padding, output_padding, groups, dilation, output_mask);
}

at::Tensor group_norm(const at::Tensor& input, int64_t num_groups, const std::optional<at::Tensor>& weight,
                      const std::optional<at::Tensor>& bias, double eps) {
  static const auto op = find_op<at::Tensor(const at::Tensor&, int64_t, const std::optional<at::Tensor>&,
                                            const std::optional<at::Tensor>&, double)>("fusedops::group_norm");
  return op.call(input, num_groups, weight, bias, eps);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> group_norm_backward(const at::Tensor& grad_output,
                                                                   const at::Tensor& input, int64_t num_groups,
                                                                   const std::optional<at::Tensor>& weight, double eps,
                                                                   std::array<bool, 3> output_mask) {
  static const auto op = find_op<std::tuple<at::Tensor, at::Tensor, at::Tensor>(
      const at::Tensor&, const at::Tensor&, int64_t, const std::optional<at::Tensor>&, double, std::array<bool, 3>)>(
      "fusedops::group_norm_backward");
  return op.call(grad_output, input, num_groups, weight, eps, output_mask);
}

at::Tensor conv2d_add_scale_sigmoid_group_norm(const at::Tensor& input, const at::Tensor& conv_weight,
                                               const std::optional<at::Tensor>& conv_bias, const at::Tensor& bias,
                                               const at::Tensor& scale, int64_t num_groups,
                                               const std::optional<at::Tensor>& gn_weight,
                                               const std::optional<at::Tensor>& gn_bias, double eps,
                                               at::IntArrayRef stride, at::IntArrayRef padding,
                                               at::IntArrayRef dilation, int64_t groups) {
  static const auto op =
      find_op<at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, const at::Tensor&,
                         const at::Tensor&, int64_t, const std::optional<at::Tensor>&, const std::optional<at::Tensor>&,
                         double, at::IntArrayRef, at::IntArrayRef, at::IntArrayRef, int64_t)>(
          "fusedops::conv2d_add_scale_sigmoid_group_norm");
  return op.call(input, conv_weight, conv_bias, bias, scale, num_groups, gn_weight, gn_bias, eps, stride, padding,
                 dilation, groups);
}

std::tuple<at::Tensor, at::Tensor> conv2d_add_scale_sigmoid_group_norm_forward(
    const at::Tensor& input, const at::Tensor& conv_weight, const std::optional<at::Tensor>& conv_bias,
    const at::Tensor& bias, const at::Tensor& scale, int64_t num_groups, const std::optional<at::Tensor>& gn_weight,
    const std::optional<at::Tensor>& gn_bias, double eps, at::IntArrayRef stride, at::IntArrayRef padding,
    at::IntArrayRef dilation, int64_t groups) {
  static const auto op = find_op<std::tuple<at::Tensor, at::Tensor>(
      const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, const at::Tensor&, const at::Tensor&,
      int64_t, const std::optional<at::Tensor>&, const std::optional<at::Tensor>&, double, at::IntArrayRef,
      at::IntArrayRef, at::IntArrayRef, int64_t)>("fusedops::conv2d_add_scale_sigmoid_group_norm_forward");
  return op.call(input, conv_weight, conv_bias, bias, scale, num_groups, gn_weight, gn_bias, eps, stride, padding,
                 dilation, groups);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>
conv2d_add_scale_sigmoid_group_norm_backward(const at::Tensor& grad_output, const at::Tensor& input,
                                             const at::Tensor& conv_weight, const at::Tensor& conv_output,
                                             const at::Tensor& bias, const at::Tensor& scale, int64_t num_groups,
                                             const std::optional<at::Tensor>& gn_weight,
                                             const std::optional<at::Tensor>& gn_bias, double eps,
                                             at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation,
                                             int64_t groups, std::array<bool, 3> conv_output_mask) {
  static const auto op =
      find_op<std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>(
          const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
          const at::Tensor&, int64_t, const std::optional<at::Tensor>&, const std::optional<at::Tensor>&, double,
          at::IntArrayRef, at::IntArrayRef, at::IntArrayRef, int64_t, std::array<bool, 3>)>(
          "fusedops::conv2d_add_scale_sigmoid_group_norm_backward");
  return op.call(grad_output, input, conv_weight, conv_output, bias, scale, num_groups, gn_weight, gn_bias, eps, stride,
                 padding, dilation, groups, conv_output_mask);
}

at::Tensor conv_transpose2d_gelu_group_norm(const at::Tensor& input, const at::Tensor& weight,
                                            const std::optional<at::Tensor>& bias, int64_t num_groups,
                                            const std::optional<at::Tensor>& gn_weight,
                                            const std::optional<at::Tensor>& gn_bias, double eps,
                                            c10::string_view approximate, at::IntArrayRef stride,
                                            at::IntArrayRef padding, at::IntArrayRef output_padding, int64_t groups,
                                            at::IntArrayRef dilation) {
  static const auto op =
      find_op<at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, int64_t,
                         const std::optional<at::Tensor>&, const std::optional<at::Tensor>&, double, c10::string_view,
                         at::IntArrayRef, at::IntArrayRef, at::IntArrayRef, int64_t, at::IntArrayRef)>(
          "fusedops::conv_transpose2d_gelu_group_norm");
  return op.call(input, weight, bias, num_groups, gn_weight, gn_bias, eps, approximate, stride, padding, output_padding,
                 groups, dilation);
}

std::tuple<at::Tensor, at::Tensor> conv_transpose2d_gelu_group_norm_forward(
    const at::Tensor& input, const at::Tensor& weight, const std::optional<at::Tensor>& bias, int64_t num_groups,
    const std::optional<at::Tensor>& gn_weight, const std::optional<at::Tensor>& gn_bias, double eps,
    c10::string_view approximate, at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef output_padding,
    int64_t groups, at::IntArrayRef dilation) {
  static const auto op = find_op<std::tuple<at::Tensor, at::Tensor>(
      const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, int64_t, const std::optional<at::Tensor>&,
      const std::optional<at::Tensor>&, double, c10::string_view, at::IntArrayRef, at::IntArrayRef, at::IntArrayRef,
      int64_t, at::IntArrayRef)>("fusedops::conv_transpose2d_gelu_group_norm_forward");
  return op.call(input, weight, bias, num_groups, gn_weight, gn_bias, eps, approximate, stride, padding, output_padding,
                 groups, dilation);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> conv_transpose2d_gelu_group_norm_backward(
    const at::Tensor& grad_output, const at::Tensor& input, const at::Tensor& weight, const at::Tensor& conv_output,
    int64_t num_groups, const std::optional<at::Tensor>& gn_weight, const std::optional<at::Tensor>& gn_bias,
    double eps, c10::string_view approximate, at::IntArrayRef stride, at::IntArrayRef padding,
    at::IntArrayRef output_padding, int64_t groups, at::IntArrayRef dilation, std::array<bool, 3> conv_output_mask) {
  static const auto op = find_op<std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>(
      const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t,
      const std::optional<at::Tensor>&, const std::optional<at::Tensor>&, double, c10::string_view, at::IntArrayRef,
      at::IntArrayRef, at::IntArrayRef, int64_t, at::IntArrayRef, std::array<bool, 3>)>(
      "fusedops::conv_transpose2d_gelu_group_norm_backward");
  return op.call(grad_output, input, weight, conv_output, num_groups, gn_weight, gn_bias, eps, approximate, stride,
                 padding, output_padding, groups, dilation, conv_output_mask);
}

at::Tensor conv_transpose2d_batch_norm_tanh_max_pool_group_norm(
    const at::Tensor& input, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
    const std::optional<at::Tensor>& bn_weight, const std::optional<at::Tensor>& bn_bias,
    const std::optional<at::Tensor>& running_mean, const std::optional<at::Tensor>& running_var, bool training,
    double momentum, double bn_eps, at::IntArrayRef pool_kernel, at::IntArrayRef pool_stride, int64_t num_groups,
    const std::optional<at::Tensor>& gn_weight, const std::optional<at::Tensor>& gn_bias, double gn_eps,
    at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef output_padding, int64_t groups,
    at::IntArrayRef dilation) {
  static const auto op = find_op<at::Tensor(
      const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, const std::optional<at::Tensor>&,
      const std::optional<at::Tensor>&, const std::optional<at::Tensor>&, const std::optional<at::Tensor>&, bool,
      double, double, at::IntArrayRef, at::IntArrayRef, int64_t, const std::optional<at::Tensor>&,
      const std::optional<at::Tensor>&, double, at::IntArrayRef, at::IntArrayRef, at::IntArrayRef, int64_t,
      at::IntArrayRef)>("fusedops::conv_transpose2d_batch_norm_tanh_max_pool_group_norm");
  return op.call(input, weight, bias, bn_weight, bn_bias, running_mean, running_var, training, momentum, bn_eps,
                 pool_kernel, pool_stride, num_groups, gn_weight, gn_bias, gn_eps, stride, padding, output_padding,
                 groups, dilation);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> conv_transpose2d_batch_norm_tanh_max_pool_group_norm_forward(
    const at::Tensor& input, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
    const std::optional<at::Tensor>& bn_weight, const std::optional<at::Tensor>& bn_bias,
    const std::optional<at::Tensor>& running_mean, const std::optional<at::Tensor>& running_var, bool training,
    double momentum, double bn_eps, at::IntArrayRef pool_kernel, at::IntArrayRef pool_stride, int64_t num_groups,
    const std::optional<at::Tensor>& gn_weight, const std::optional<at::Tensor>& gn_bias, double gn_eps,
    at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef output_padding, int64_t groups,
    at::IntArrayRef dilation) {
  static const auto op = find_op<std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor>(
      const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, const std::optional<at::Tensor>&,
      const std::optional<at::Tensor>&, const std::optional<at::Tensor>&, const std::optional<at::Tensor>&, bool,
      double, double, at::IntArrayRef, at::IntArrayRef, int64_t, const std::optional<at::Tensor>&,
      const std::optional<at::Tensor>&, double, at::IntArrayRef, at::IntArrayRef, at::IntArrayRef, int64_t,
      at::IntArrayRef)>("fusedops::conv_transpose2d_batch_norm_tanh_max_pool_group_norm_forward");
  return op.call(input, weight, bias, bn_weight, bn_bias, running_mean, running_var, training, momentum, bn_eps,
                 pool_kernel, pool_stride, num_groups, gn_weight, gn_bias, gn_eps, stride, padding, output_padding,
                 groups, dilation);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>
conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward(
    const at::Tensor& grad_output, const at::Tensor& input, const at::Tensor& weight, const at::Tensor& conv_output,
    const at::Tensor& bn_mean, const at::Tensor& bn_invstd, const std::optional<at::Tensor>& bn_weight,
    const std::optional<at::Tensor>& bn_bias, bool training, at::IntArrayRef pool_kernel, at::IntArrayRef pool_stride,
    int64_t num_groups, const std::optional<at::Tensor>& gn_weight, const std::optional<at::Tensor>& gn_bias,
    double gn_eps, at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef output_padding, int64_t groups,
    at::IntArrayRef dilation, std::array<bool, 3> conv_output_mask) {
  static const auto op =
      find_op<std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>(
          const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
          const at::Tensor&, const std::optional<at::Tensor>&, const std::optional<at::Tensor>&, bool, at::IntArrayRef,
          at::IntArrayRef, int64_t, const std::optional<at::Tensor>&, const std::optional<at::Tensor>&, double,
          at::IntArrayRef, at::IntArrayRef, at::IntArrayRef, int64_t, at::IntArrayRef, std::array<bool, 3>)>(
          "fusedops::conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward");
  return op.call(grad_output, input, weight, conv_output, bn_mean, bn_invstd, bn_weight, bn_bias, training, pool_kernel,
                 pool_stride, num_groups, gn_weight, gn_bias, gn_eps, stride, padding, output_padding, groups, dilation,
                 conv_output_mask);
}
}  // namespace fusedops
