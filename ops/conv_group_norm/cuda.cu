// The fused chains' CUDA kernels: the device-generic bodies (conv_group_norm.cpp) over the CUDA convolution and
// GroupNorm kernels, under a device guard. A generic guard, not a CUDA one: an input left on the CPU must reach
// the argument checks (a clear error), not fail in the guard.
#include <c10/core/DeviceGuard.h>

#include "ops/conv2d/conv2d.h"
#include "ops/conv_group_norm/conv_group_norm.h"
#include "ops/group_norm/group_norm.h"

namespace fusedops {

at::Tensor conv2d_add_scale_sigmoid_group_norm_cuda(FUSEDOPS_L2_21_ARGS) {
  const c10::OptionalDeviceGuard guard(input.device());
  return std::get<0>(conv2d_add_scale_sigmoid_group_norm_with(
      conv2d_cuda_kernels, group_norm_cuda_kernels, false, input, conv_weight, conv_bias, bias, scale, num_groups,
      gn_weight, gn_bias, eps, stride, padding, dilation, groups));
}

TensorPair conv2d_add_scale_sigmoid_group_norm_forward_cuda(FUSEDOPS_L2_21_ARGS) {
  const c10::OptionalDeviceGuard guard(input.device());
  return conv2d_add_scale_sigmoid_group_norm_with(conv2d_cuda_kernels, group_norm_cuda_kernels, true, input,
                                                  conv_weight, conv_bias, bias, scale, num_groups, gn_weight, gn_bias,
                                                  eps, stride, padding, dilation, groups);
}

L2_21Grads conv2d_add_scale_sigmoid_group_norm_backward_cuda(FUSEDOPS_L2_21_BACKWARD_ARGS) {
  const c10::OptionalDeviceGuard guard(input.device());
  return conv2d_add_scale_sigmoid_group_norm_backward_with(
      conv2d_cuda_kernels, group_norm_cuda_kernels, grad_output, input, conv_weight, conv_output, bias, scale,
      num_groups, gn_weight, gn_bias, eps, stride, padding, dilation, groups, conv_output_mask);
}

at::Tensor conv_transpose2d_gelu_group_norm_cuda(FUSEDOPS_L2_19_ARGS) {
  const c10::OptionalDeviceGuard guard(input.device());
  return std::get<0>(conv_transpose2d_gelu_group_norm_with(
      conv2d_cuda_kernels, group_norm_cuda_kernels, false, input, weight, bias, num_groups, gn_weight, gn_bias, eps,
      approximate, stride, padding, output_padding, groups, dilation));
}

TensorPair conv_transpose2d_gelu_group_norm_forward_cuda(FUSEDOPS_L2_19_ARGS) {
  const c10::OptionalDeviceGuard guard(input.device());
  return conv_transpose2d_gelu_group_norm_with(conv2d_cuda_kernels, group_norm_cuda_kernels, true, input, weight, bias,
                                               num_groups, gn_weight, gn_bias, eps, approximate, stride, padding,
                                               output_padding, groups, dilation);
}

L2_19Grads conv_transpose2d_gelu_group_norm_backward_cuda(FUSEDOPS_L2_19_BACKWARD_ARGS) {
  const c10::OptionalDeviceGuard guard(input.device());
  return conv_transpose2d_gelu_group_norm_backward_with(
      conv2d_cuda_kernels, group_norm_cuda_kernels, grad_output, input, weight, conv_output, num_groups, gn_weight,
      gn_bias, eps, approximate, stride, padding, output_padding, groups, dilation, conv_output_mask);
}

}  // namespace fusedops
