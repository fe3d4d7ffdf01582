// fusedops' C++ API: each function calls the registered operator through the PyTorch dispatcher, so
// CPU/CUDA kernels and autograd are picked exactly as for torch.ops.fusedops.* in Python.
// Link fusedops::fusedops (find_package(fusedops)); the operators register when the library loads.
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <optional>
#include <tuple>

namespace fusedops {

// The torch version this library was built against (operators are tied to its ABI).
const char* torch_version();

// a + b with broadcasting and type promotion (float16, bfloat16, float32, float64).
at::Tensor add(const at::Tensor& a, const at::Tensor& b);
std::tuple<at::Tensor, at::Tensor> add_backward(const at::Tensor& grad_output, c10::SymIntArrayRef a_size,
                                                at::ScalarType a_dtype, c10::SymIntArrayRef b_size,
                                                at::ScalarType b_dtype);

// nn.ConvTranspose1d: input (N, C_in, L), weight (C_in, C_out / groups, K), bias (C_out) or none.
at::Tensor conv_transpose1d(const at::Tensor& input, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                            int64_t stride = 1, int64_t padding = 0, int64_t output_padding = 0, int64_t groups = 1,
                            int64_t dilation = 1);
// (grad_input, grad_weight, grad_bias); entries whose output_mask is false are undefined.
std::tuple<at::Tensor, at::Tensor, at::Tensor> conv_transpose1d_backward(
    const at::Tensor& grad_output, const at::Tensor& input, const at::Tensor& weight, int64_t stride, int64_t padding,
    int64_t output_padding, int64_t groups, int64_t dilation, std::array<bool, 3> output_mask);

// nn.Conv2d: input (N, C_in, H, W), weight (C_out, C_in / groups, kH, kW), bias (C_out) or none.
at::Tensor conv2d(const at::Tensor& input, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                  at::IntArrayRef stride = {1, 1}, at::IntArrayRef padding = {0, 0}, at::IntArrayRef dilation = {1, 1},
                  int64_t groups = 1);
std::tuple<at::Tensor, at::Tensor, at::Tensor> conv2d_backward(const at::Tensor& grad_output, const at::Tensor& input,
                                                               const at::Tensor& weight, at::IntArrayRef stride,
                                                               at::IntArrayRef padding, at::IntArrayRef dilation,
                                                               int64_t groups, std::array<bool, 3> output_mask);

// nn.ConvTranspose2d: input (N, C_in, H, W), weight (C_in, C_out / groups, kH, kW), bias (C_out) or none.
at::Tensor conv_transpose2d(const at::Tensor& input, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                            at::IntArrayRef stride = {1, 1}, at::IntArrayRef padding = {0, 0},
                            at::IntArrayRef output_padding = {0, 0}, int64_t groups = 1,
                            at::IntArrayRef dilation = {1, 1});
std::tuple<at::Tensor, at::Tensor, at::Tensor> conv_transpose2d_backward(
    const at::Tensor& grad_output, const at::Tensor& input, const at::Tensor& weight, at::IntArrayRef stride,
    at::IntArrayRef padding, at::IntArrayRef output_padding, int64_t groups, at::IntArrayRef dilation,
    std::array<bool, 3> output_mask);

// nn.GroupNorm on (N, C, *): weight and bias (C) or none.
at::Tensor group_norm(const at::Tensor& input, int64_t num_groups,
                      const std::optional<at::Tensor>& weight = std::nullopt,
                      const std::optional<at::Tensor>& bias = std::nullopt, double eps = 1e-5);
std::tuple<at::Tensor, at::Tensor, at::Tensor> group_norm_backward(const at::Tensor& grad_output,
                                                                   const at::Tensor& input, int64_t num_groups,
                                                                   const std::optional<at::Tensor>& weight, double eps,
                                                                   std::array<bool, 3> output_mask);

// L2_21: GroupNorm(sigmoid((conv2d(input) + bias) * scale)); bias and scale per channel, e.g. (C, 1, 1).
at::Tensor conv2d_add_scale_sigmoid_group_norm(const at::Tensor& input, const at::Tensor& conv_weight,
                                               const std::optional<at::Tensor>& conv_bias, const at::Tensor& bias,
                                               const at::Tensor& scale, int64_t num_groups,
                                               const std::optional<at::Tensor>& gn_weight,
                                               const std::optional<at::Tensor>& gn_bias, double eps = 1e-5,
                                               at::IntArrayRef stride = {1, 1}, at::IntArrayRef padding = {0, 0},
                                               at::IntArrayRef dilation = {1, 1}, int64_t groups = 1);
// (output, conv_output): the chain and its convolution's output, which the backward takes.
std::tuple<at::Tensor, at::Tensor> conv2d_add_scale_sigmoid_group_norm_forward(
    const at::Tensor& input, const at::Tensor& conv_weight, const std::optional<at::Tensor>& conv_bias,
    const at::Tensor& bias, const at::Tensor& scale, int64_t num_groups, const std::optional<at::Tensor>& gn_weight,
    const std::optional<at::Tensor>& gn_bias, double eps, at::IntArrayRef stride, at::IntArrayRef padding,
    at::IntArrayRef dilation, int64_t groups);
// (grad_input, grad_conv_weight, grad_conv_bias, grad_bias, grad_scale, grad_gn_weight, grad_gn_bias).
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>
conv2d_add_scale_sigmoid_group_norm_backward(const at::Tensor& grad_output, const at::Tensor& input,
                                             const at::Tensor& conv_weight, const at::Tensor& conv_output,
                                             const at::Tensor& bias, const at::Tensor& scale, int64_t num_groups,
                                             const std::optional<at::Tensor>& gn_weight,
                                             const std::optional<at::Tensor>& gn_bias, double eps,
                                             at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation,
                                             int64_t groups, std::array<bool, 3> conv_output_mask);

// L2_19: GroupNorm(gelu(conv_transpose2d(input))); approximate "none" (erf) or "tanh".
at::Tensor conv_transpose2d_gelu_group_norm(const at::Tensor& input, const at::Tensor& weight,
                                            const std::optional<at::Tensor>& bias, int64_t num_groups,
                                            const std::optional<at::Tensor>& gn_weight,
                                            const std::optional<at::Tensor>& gn_bias, double eps = 1e-5,
                                            c10::string_view approximate = "none", at::IntArrayRef stride = {1, 1},
                                            at::IntArrayRef padding = {0, 0}, at::IntArrayRef output_padding = {0, 0},
                                            int64_t groups = 1, at::IntArrayRef dilation = {1, 1});
std::tuple<at::Tensor, at::Tensor> conv_transpose2d_gelu_group_norm_forward(
    const at::Tensor& input, const at::Tensor& weight, const std::optional<at::Tensor>& bias, int64_t num_groups,
    const std::optional<at::Tensor>& gn_weight, const std::optional<at::Tensor>& gn_bias, double eps,
    c10::string_view approximate, at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef output_padding,
    int64_t groups, at::IntArrayRef dilation);
// (grad_input, grad_weight, grad_bias, grad_gn_weight, grad_gn_bias).
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> conv_transpose2d_gelu_group_norm_backward(
    const at::Tensor& grad_output, const at::Tensor& input, const at::Tensor& weight, const at::Tensor& conv_output,
    int64_t num_groups, const std::optional<at::Tensor>& gn_weight, const std::optional<at::Tensor>& gn_bias,
    double eps, c10::string_view approximate, at::IntArrayRef stride, at::IntArrayRef padding,
    at::IntArrayRef output_padding, int64_t groups, at::IntArrayRef dilation, std::array<bool, 3> conv_output_mask);

// L2_11: GroupNorm(max_pool2d(tanh(batch_norm(conv_transpose2d(input))))). BatchNorm as F.batch_norm: with `training`
// the batch statistics normalize and running_mean / running_var (when given) are updated in place with `momentum`.
at::Tensor conv_transpose2d_batch_norm_tanh_max_pool_group_norm(
    const at::Tensor& input, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
    const std::optional<at::Tensor>& bn_weight, const std::optional<at::Tensor>& bn_bias,
    const std::optional<at::Tensor>& running_mean, const std::optional<at::Tensor>& running_var, bool training,
    double momentum = 0.1, double bn_eps = 1e-5, at::IntArrayRef pool_kernel = {2, 2},
    at::IntArrayRef pool_stride = {2, 2}, int64_t num_groups = 1, const std::optional<at::Tensor>& gn_weight = {},
    const std::optional<at::Tensor>& gn_bias = {}, double gn_eps = 1e-5, at::IntArrayRef stride = {1, 1},
    at::IntArrayRef padding = {0, 0}, at::IntArrayRef output_padding = {0, 0}, int64_t groups = 1,
    at::IntArrayRef dilation = {1, 1});
// (output, conv_output, bn_mean, bn_invstd): the chain's output, the convolution's output and the statistics that
// normalized it, for the backward.
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> conv_transpose2d_batch_norm_tanh_max_pool_group_norm_forward(
    const at::Tensor& input, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
    const std::optional<at::Tensor>& bn_weight, const std::optional<at::Tensor>& bn_bias,
    const std::optional<at::Tensor>& running_mean, const std::optional<at::Tensor>& running_var, bool training,
    double momentum, double bn_eps, at::IntArrayRef pool_kernel, at::IntArrayRef pool_stride, int64_t num_groups,
    const std::optional<at::Tensor>& gn_weight, const std::optional<at::Tensor>& gn_bias, double gn_eps,
    at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef output_padding, int64_t groups,
    at::IntArrayRef dilation);
// (grad_input, grad_weight, grad_bias, grad_bn_weight, grad_bn_bias, grad_gn_weight, grad_gn_bias).
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>
conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward(
    const at::Tensor& grad_output, const at::Tensor& input, const at::Tensor& weight, const at::Tensor& conv_output,
    const at::Tensor& bn_mean, const at::Tensor& bn_invstd, const std::optional<at::Tensor>& bn_weight,
    const std::optional<at::Tensor>& bn_bias, bool training, at::IntArrayRef pool_kernel, at::IntArrayRef pool_stride,
    int64_t num_groups, const std::optional<at::Tensor>& gn_weight, const std::optional<at::Tensor>& gn_bias,
    double gn_eps, at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef output_padding, int64_t groups,
    at::IntArrayRef dilation, std::array<bool, 3> conv_output_mask);

}  // namespace fusedops
