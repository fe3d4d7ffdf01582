// The fused convolution -> elementwise -> GroupNorm chains:
//   conv2d_add_scale_sigmoid_group_norm (L2_21): conv2d (+ its bias) -> + bias -> * scale -> sigmoid -> GroupNorm;
//   conv_transpose2d_gelu_group_norm (L2_19): conv_transpose2d (+ its bias) -> GELU -> GroupNorm.
// Each is the convolution kernel (ops/conv2d) then one GroupNorm-engine launch (ops/group_norm) that applies the
// elementwise steps on the fly: the convolution's output is the only intermediate, and without a gradient to compute it
// is normalized in place (one output-sized allocation per forward).
//
// Per-channel bias and scale (L2_21) may have any shape whose broadcast against (N, C, H, W) varies only over C:
// (C, 1, 1), (1, C, 1, 1), or a single value ((), (1,), (1, 1, 1), ...). A (C,) tensor would broadcast over W, not C,
// and is refused. Their gradients come back in their own shapes.
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <optional>
#include <string_view>
#include <tuple>

namespace fusedops {

#define FUSEDOPS_L2_21_ARGS                                                                                           \
  const at::Tensor &input, const at::Tensor &conv_weight, const std::optional<at::Tensor>&conv_bias,                  \
      const at::Tensor &bias, const at::Tensor &scale, int64_t num_groups, const std::optional<at::Tensor>&gn_weight, \
      const std::optional<at::Tensor>&gn_bias, double eps, at::IntArrayRef stride, at::IntArrayRef padding,           \
      at::IntArrayRef dilation, int64_t groups
#define FUSEDOPS_L2_21_BACKWARD_ARGS                                                                      \
  const at::Tensor &grad_output, const at::Tensor &input, const at::Tensor &conv_weight,                  \
      const at::Tensor &conv_output, const at::Tensor &bias, const at::Tensor &scale, int64_t num_groups, \
      const std::optional<at::Tensor>&gn_weight, const std::optional<at::Tensor>&gn_bias, double eps,     \
      at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups,          \
      std::array<bool, 3> conv_output_mask
#define FUSEDOPS_L2_19_ARGS                                                                                          \
  const at::Tensor &input, const at::Tensor &weight, const std::optional<at::Tensor>&bias, int64_t num_groups,       \
      const std::optional<at::Tensor>&gn_weight, const std::optional<at::Tensor>&gn_bias, double eps,                \
      c10::string_view approximate, at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef output_padding, \
      int64_t groups, at::IntArrayRef dilation
#define FUSEDOPS_L2_19_BACKWARD_ARGS                                                                               \
  const at::Tensor &grad_output, const at::Tensor &input, const at::Tensor &weight, const at::Tensor &conv_output, \
      int64_t num_groups, const std::optional<at::Tensor>&gn_weight, const std::optional<at::Tensor>&gn_bias,      \
      double eps, c10::string_view approximate, at::IntArrayRef stride, at::IntArrayRef padding,                   \
      at::IntArrayRef output_padding, int64_t groups, at::IntArrayRef dilation, std::array<bool, 3> conv_output_mask

using TensorPair = std::tuple<at::Tensor, at::Tensor>;
using L2_21Grads = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>;
using L2_19Grads = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>;

// Kernels per dispatch key: <op>_{cpu,cuda,meta,autograd}, and the same for <op>_forward and <op>_backward.
at::Tensor conv2d_add_scale_sigmoid_group_norm_cpu(FUSEDOPS_L2_21_ARGS);
at::Tensor conv2d_add_scale_sigmoid_group_norm_cuda(FUSEDOPS_L2_21_ARGS);
at::Tensor conv2d_add_scale_sigmoid_group_norm_meta(FUSEDOPS_L2_21_ARGS);
at::Tensor conv2d_add_scale_sigmoid_group_norm_autograd(FUSEDOPS_L2_21_ARGS);
TensorPair conv2d_add_scale_sigmoid_group_norm_forward_cpu(FUSEDOPS_L2_21_ARGS);
TensorPair conv2d_add_scale_sigmoid_group_norm_forward_cuda(FUSEDOPS_L2_21_ARGS);
TensorPair conv2d_add_scale_sigmoid_group_norm_forward_meta(FUSEDOPS_L2_21_ARGS);
TensorPair conv2d_add_scale_sigmoid_group_norm_forward_autograd(FUSEDOPS_L2_21_ARGS);
L2_21Grads conv2d_add_scale_sigmoid_group_norm_backward_cpu(FUSEDOPS_L2_21_BACKWARD_ARGS);
L2_21Grads conv2d_add_scale_sigmoid_group_norm_backward_cuda(FUSEDOPS_L2_21_BACKWARD_ARGS);
L2_21Grads conv2d_add_scale_sigmoid_group_norm_backward_meta(FUSEDOPS_L2_21_BACKWARD_ARGS);
L2_21Grads conv2d_add_scale_sigmoid_group_norm_backward_autograd(FUSEDOPS_L2_21_BACKWARD_ARGS);

at::Tensor conv_transpose2d_gelu_group_norm_cpu(FUSEDOPS_L2_19_ARGS);
at::Tensor conv_transpose2d_gelu_group_norm_cuda(FUSEDOPS_L2_19_ARGS);
at::Tensor conv_transpose2d_gelu_group_norm_meta(FUSEDOPS_L2_19_ARGS);
at::Tensor conv_transpose2d_gelu_group_norm_autograd(FUSEDOPS_L2_19_ARGS);
TensorPair conv_transpose2d_gelu_group_norm_forward_cpu(FUSEDOPS_L2_19_ARGS);
TensorPair conv_transpose2d_gelu_group_norm_forward_cuda(FUSEDOPS_L2_19_ARGS);
TensorPair conv_transpose2d_gelu_group_norm_forward_meta(FUSEDOPS_L2_19_ARGS);
TensorPair conv_transpose2d_gelu_group_norm_forward_autograd(FUSEDOPS_L2_19_ARGS);
L2_19Grads conv_transpose2d_gelu_group_norm_backward_cpu(FUSEDOPS_L2_19_BACKWARD_ARGS);
L2_19Grads conv_transpose2d_gelu_group_norm_backward_cuda(FUSEDOPS_L2_19_BACKWARD_ARGS);
L2_19Grads conv_transpose2d_gelu_group_norm_backward_meta(FUSEDOPS_L2_19_BACKWARD_ARGS);
L2_19Grads conv_transpose2d_gelu_group_norm_backward_autograd(FUSEDOPS_L2_19_BACKWARD_ARGS);

struct Conv2dKernels;
struct GroupNormKernels;
// The device-generic bodies of the CPU and CUDA kernels. `keep_conv_output`:
// return the convolution's output as well (for the backward) instead of normalizing it in place.
TensorPair conv2d_add_scale_sigmoid_group_norm_with(const Conv2dKernels& ck, const GroupNormKernels& gk,
                                                    bool keep_conv_output, FUSEDOPS_L2_21_ARGS);
L2_21Grads conv2d_add_scale_sigmoid_group_norm_backward_with(const Conv2dKernels& ck, const GroupNormKernels& gk,
                                                             FUSEDOPS_L2_21_BACKWARD_ARGS);
TensorPair conv_transpose2d_gelu_group_norm_with(const Conv2dKernels& ck, const GroupNormKernels& gk,
                                                 bool keep_conv_output, FUSEDOPS_L2_19_ARGS);
L2_19Grads conv_transpose2d_gelu_group_norm_backward_with(const Conv2dKernels& ck, const GroupNormKernels& gk,
                                                          FUSEDOPS_L2_19_BACKWARD_ARGS);

}  // namespace fusedops
