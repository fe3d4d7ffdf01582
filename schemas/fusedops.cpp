// The public contract: every fusedops operator's schema. Kernels are wired per dispatch key in
// registration/; the C++ API in include/fusedops/fusedops.h calls these by name.
//
// The fused chains come in three operators: the chain itself (what a model calls), `*_forward`, which
// also returns the convolution's output for the backward (the Autograd kernel calls it only when a
// gradient is needed, so inference never keeps that tensor), and `*_backward`.
#include <torch/library.h>

TORCH_LIBRARY(fusedops, m) {
  m.def("add(Tensor a, Tensor b) -> Tensor");
  m.def(
      "add_backward(Tensor grad_output, SymInt[] a_size, ScalarType a_dtype, SymInt[] b_size, "
      "ScalarType b_dtype) -> (Tensor, Tensor)");

  m.def(
      "conv_transpose1d(Tensor input, Tensor weight, Tensor? bias, int stride=1, int padding=0, "
      "int output_padding=0, int groups=1, int dilation=1) -> Tensor");
  m.def(
      "conv_transpose1d_backward(Tensor grad_output, Tensor input, Tensor weight, int stride, int padding, "
      "int output_padding, int groups, int dilation, bool[3] output_mask) -> (Tensor, Tensor, Tensor)");

  m.def(
      "conv2d(Tensor input, Tensor weight, Tensor? bias, int[2] stride=1, int[2] padding=0, int[2] dilation=1, "
      "int groups=1) -> Tensor");
  m.def(
      "conv2d_backward(Tensor grad_output, Tensor input, Tensor weight, int[2] stride, int[2] padding, "
      "int[2] dilation, int groups, bool[3] output_mask) -> (Tensor, Tensor, Tensor)");
  m.def(
      "conv_transpose2d(Tensor input, Tensor weight, Tensor? bias, int[2] stride=1, int[2] padding=0, "
      "int[2] output_padding=0, int groups=1, int[2] dilation=1) -> Tensor");
  m.def(
      "conv_transpose2d_backward(Tensor grad_output, Tensor input, Tensor weight, int[2] stride, int[2] padding, "
      "int[2] output_padding, int groups, int[2] dilation, bool[3] output_mask) -> (Tensor, Tensor, Tensor)");

  m.def("group_norm(Tensor input, int num_groups, Tensor? weight=None, Tensor? bias=None, float eps=1e-05) -> Tensor");
  m.def(
      "group_norm_backward(Tensor grad_output, Tensor input, int num_groups, Tensor? weight, float eps, "
      "bool[3] output_mask) -> (Tensor, Tensor, Tensor)");

  // L2_21: conv2d (+ its bias) -> + bias -> * scale -> sigmoid -> GroupNorm (affine).
  m.def(
      "conv2d_add_scale_sigmoid_group_norm(Tensor input, Tensor conv_weight, Tensor? conv_bias, Tensor bias, "
      "Tensor scale, int num_groups, Tensor? gn_weight, Tensor? gn_bias, float eps=1e-05, int[2] stride=1, "
      "int[2] padding=0, int[2] dilation=1, int groups=1) -> Tensor");
  m.def(
      "conv2d_add_scale_sigmoid_group_norm_forward(Tensor input, Tensor conv_weight, Tensor? conv_bias, "
      "Tensor bias, Tensor scale, int num_groups, Tensor? gn_weight, Tensor? gn_bias, float eps, int[2] stride, "
      "int[2] padding, int[2] dilation, int groups) -> (Tensor output, Tensor conv_output)");
  m.def(
      "conv2d_add_scale_sigmoid_group_norm_backward(Tensor grad_output, Tensor input, Tensor conv_weight, "
      "Tensor conv_output, Tensor bias, Tensor scale, int num_groups, Tensor? gn_weight, Tensor? gn_bias, "
      "float eps, int[2] stride, int[2] padding, int[2] dilation, int groups, bool[3] conv_output_mask) -> "
      "(Tensor grad_input, Tensor grad_conv_weight, Tensor grad_conv_bias, Tensor grad_bias, Tensor grad_scale, "
      "Tensor grad_gn_weight, Tensor grad_gn_bias)");

  // L2_19: conv_transpose2d (+ its bias) -> GELU ('none': exact erf, or 'tanh') -> GroupNorm (affine).
  m.def(
      "conv_transpose2d_gelu_group_norm(Tensor input, Tensor weight, Tensor? bias, int num_groups, "
      "Tensor? gn_weight, Tensor? gn_bias, float eps=1e-05, str approximate='none', int[2] stride=1, "
      "int[2] padding=0, int[2] output_padding=0, int groups=1, int[2] dilation=1) -> Tensor");
  m.def(
      "conv_transpose2d_gelu_group_norm_forward(Tensor input, Tensor weight, Tensor? bias, int num_groups, "
      "Tensor? gn_weight, Tensor? gn_bias, float eps, str approximate, int[2] stride, int[2] padding, "
      "int[2] output_padding, int groups, int[2] dilation) -> (Tensor output, Tensor conv_output)");
  m.def(
      "conv_transpose2d_gelu_group_norm_backward(Tensor grad_output, Tensor input, Tensor weight, "
      "Tensor conv_output, int num_groups, Tensor? gn_weight, Tensor? gn_bias, float eps, str approximate, "
      "int[2] stride, int[2] padding, int[2] output_padding, int groups, int[2] dilation, "
      "bool[3] conv_output_mask) -> (Tensor grad_input, Tensor grad_weight, Tensor grad_bias, "
      "Tensor grad_gn_weight, Tensor grad_gn_bias)");

  // L2_11: conv_transpose2d (+ its bias) -> BatchNorm2d -> tanh -> MaxPool2d (floor mode) -> GroupNorm (affine).
  // BatchNorm as F.batch_norm: with `training` the batch statistics normalize and the running statistics (when given)
  // are updated in place; otherwise the running statistics normalize.
  m.def(
      "conv_transpose2d_batch_norm_tanh_max_pool_group_norm(Tensor input, Tensor weight, Tensor? bias, "
      "Tensor? bn_weight, Tensor? bn_bias, Tensor(a!)? running_mean, Tensor(b!)? running_var, bool training, "
      "float momentum=0.1, float bn_eps=1e-05, int[2] pool_kernel=2, int[2] pool_stride=2, int num_groups=1, "
      "Tensor? gn_weight=None, Tensor? gn_bias=None, float gn_eps=1e-05, int[2] stride=1, int[2] padding=0, "
      "int[2] output_padding=0, int groups=1, int[2] dilation=1) -> Tensor");
  m.def(
      "conv_transpose2d_batch_norm_tanh_max_pool_group_norm_forward(Tensor input, Tensor weight, Tensor? bias, "
      "Tensor? bn_weight, Tensor? bn_bias, Tensor(a!)? running_mean, Tensor(b!)? running_var, bool training, "
      "float momentum, float bn_eps, int[2] pool_kernel, int[2] pool_stride, int num_groups, Tensor? gn_weight, "
      "Tensor? gn_bias, float gn_eps, int[2] stride, int[2] padding, int[2] output_padding, int groups, "
      "int[2] dilation) -> (Tensor output, Tensor conv_output, Tensor bn_mean, Tensor bn_invstd)");
  m.def(
      "conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward(Tensor grad_output, Tensor input, "
      "Tensor weight, Tensor conv_output, Tensor bn_mean, Tensor bn_invstd, Tensor? bn_weight, Tensor? bn_bias, "
      "bool training, int[2] pool_kernel, int[2] pool_stride, int num_groups, Tensor? gn_weight, Tensor? gn_bias, "
      "float gn_eps, int[2] stride, int[2] padding, int[2] output_padding, int groups, int[2] dilation, "
      "bool[3] conv_output_mask) -> (Tensor grad_input, Tensor grad_weight, Tensor grad_bias, "
      "Tensor grad_bn_weight, Tensor grad_bn_bias, Tensor grad_gn_weight, Tensor grad_gn_bias)");
}
