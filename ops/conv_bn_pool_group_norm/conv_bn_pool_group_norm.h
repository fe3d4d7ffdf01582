// The fused L2_11 chain, conv_transpose2d_batch_norm_tanh_max_pool_group_norm:
//   conv_transpose2d (+ its bias) -> BatchNorm2d -> tanh -> MaxPool2d (floor mode, no padding) -> GroupNorm.
// BatchNorm follows F.batch_norm: with `training`, the batch's mean and biased variance normalize and the running
// statistics (when given) move toward the batch's (running_var with the unbiased variance) by `momentum`; otherwise the
// running statistics normalize. num_batches_tracked is the module's business, as in nn.BatchNorm2d.
//
// A forward is the convolution kernel, then (training) the batch statistics, merged from the moments the convolution's
// epilogue left per pixel tile where its fast path ran, else one pass over its output, then one launch per
// (sample, group) that applies BatchNorm, tanh and the max-pool on the fly and normalizes the pooled values:
// the convolution's output is the only intermediate.
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <optional>
#include <tuple>

#include "ops/conv2d/conv2d.h"

namespace fusedops {

#define FUSEDOPS_L2_11_ARGS                                                                                         \
  const at::Tensor &input, const at::Tensor &weight, const std::optional<at::Tensor>&bias,                          \
      const std::optional<at::Tensor>&bn_weight, const std::optional<at::Tensor>&bn_bias,                           \
      const std::optional<at::Tensor>&running_mean, const std::optional<at::Tensor>&running_var, bool training,     \
      double momentum, double bn_eps, at::IntArrayRef pool_kernel, at::IntArrayRef pool_stride, int64_t num_groups, \
      const std::optional<at::Tensor>&gn_weight, const std::optional<at::Tensor>&gn_bias, double gn_eps,            \
      at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef output_padding, int64_t groups,              \
      at::IntArrayRef dilation
#define FUSEDOPS_L2_11_BACKWARD_ARGS                                                                               \
  const at::Tensor &grad_output, const at::Tensor &input, const at::Tensor &weight, const at::Tensor &conv_output, \
      const at::Tensor &bn_mean, const at::Tensor &bn_invstd, const std::optional<at::Tensor>&bn_weight,           \
      const std::optional<at::Tensor>&bn_bias, bool training, at::IntArrayRef pool_kernel,                         \
      at::IntArrayRef pool_stride, int64_t num_groups, const std::optional<at::Tensor>&gn_weight,                  \
      const std::optional<at::Tensor>&gn_bias, double gn_eps, at::IntArrayRef stride, at::IntArrayRef padding,     \
      at::IntArrayRef output_padding, int64_t groups, at::IntArrayRef dilation, std::array<bool, 3> conv_output_mask

// output, conv_output, bn_mean, bn_invstd (the statistics that normalized: (C,), in the input's opmath dtype).
using L2_11Forward = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor>;
// Gradients of input, weight, bias, bn_weight, bn_bias, gn_weight, gn_bias.
using L2_11Grads = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>;

at::Tensor conv_transpose2d_batch_norm_tanh_max_pool_group_norm_cpu(FUSEDOPS_L2_11_ARGS);
at::Tensor conv_transpose2d_batch_norm_tanh_max_pool_group_norm_cuda(FUSEDOPS_L2_11_ARGS);
at::Tensor conv_transpose2d_batch_norm_tanh_max_pool_group_norm_meta(FUSEDOPS_L2_11_ARGS);
at::Tensor conv_transpose2d_batch_norm_tanh_max_pool_group_norm_autograd(FUSEDOPS_L2_11_ARGS);
L2_11Forward conv_transpose2d_batch_norm_tanh_max_pool_group_norm_forward_cpu(FUSEDOPS_L2_11_ARGS);
L2_11Forward conv_transpose2d_batch_norm_tanh_max_pool_group_norm_forward_cuda(FUSEDOPS_L2_11_ARGS);
L2_11Forward conv_transpose2d_batch_norm_tanh_max_pool_group_norm_forward_meta(FUSEDOPS_L2_11_ARGS);
L2_11Forward conv_transpose2d_batch_norm_tanh_max_pool_group_norm_forward_autograd(FUSEDOPS_L2_11_ARGS);
L2_11Grads conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward_cpu(FUSEDOPS_L2_11_BACKWARD_ARGS);
L2_11Grads conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward_cuda(FUSEDOPS_L2_11_BACKWARD_ARGS);
L2_11Grads conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward_meta(FUSEDOPS_L2_11_BACKWARD_ARGS);
L2_11Grads conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward_autograd(FUSEDOPS_L2_11_BACKWARD_ARGS);

// BatchNorm as an affine map per channel: z = (c - mean) * invstd * weight + bias. mean, invstd: (C,), opmath dtype;
// weight, bias: (C,) in c's dtype, undefined for 1 and 0.
struct BatchNormParams {
  at::Tensor mean, invstd, weight, bias;
};

struct MaxPool2dParams {
  int64_t kernel_h, kernel_w, stride_h, stride_w;
  bool overlapping() const { return stride_h < kernel_h || stride_w < kernel_w; }
};

// The chain's kernels of one device, on contiguous (N, C, H, W) tensors c (the convolution's output).
struct BnPoolGroupNormKernels {
  // mean, invstd (C,): the batch statistics of c per channel, from `moments` when defined (else from c);
  // running_mean / running_var, when defined, become (1 - momentum) * running + momentum * batch statistic (the
  // variance unbiased).
  void (*batch_stats)(const at::Tensor& c, const TileMoments& moments, double eps, double momentum,
                      at::Tensor& running_mean, at::Tensor& running_var, at::Tensor& mean, at::Tensor& invstd);
  // out = GroupNorm(max_pool(tanh(BatchNorm(c)))), GroupNorm's affine gamma / beta undefined for 1 / 0.
  void (*forward)(const at::Tensor& c, const BatchNormParams& bn, const MaxPool2dParams& pool, int64_t num_groups,
                  const at::Tensor& gamma, const at::Tensor& beta, double eps, at::Tensor& out);
  // Adds into grad_z (zero on entry) d/dz of GroupNorm(max_pool(tanh(z))) at z = BatchNorm(c), and writes the per
  // (sample, channel) sums (4, N, C), opmath: of grad_z, of grad_z * (c - mean) * invstd, GroupNorm's dgamma and dbeta.
  void (*backward)(const at::Tensor& grad_out, const at::Tensor& c, const BatchNormParams& bn,
                   const MaxPool2dParams& pool, int64_t num_groups, const at::Tensor& gamma, double eps,
                   at::Tensor& grad_z, at::Tensor& sums);
  // grad (holding grad_z) becomes d/dc through BatchNorm, given grad_z's per-channel sums (2, C) (the batch statistics'
  // terms, used when `training`).
  void (*batch_norm_input_grad)(const at::Tensor& c, const BatchNormParams& bn, const at::Tensor& channel_sums,
                                bool training, at::Tensor& grad);
};
extern const BnPoolGroupNormKernels bn_pool_group_norm_cpu_kernels;
extern const BnPoolGroupNormKernels bn_pool_group_norm_cuda_kernels;

// The device-generic bodies of the CPU and CUDA kernels; keep_conv_output: return the convolution's output too.
L2_11Forward conv_transpose2d_batch_norm_tanh_max_pool_group_norm_with(const Conv2dKernels& ck,
                                                                       const BnPoolGroupNormKernels& bk,
                                                                       bool keep_conv_output, FUSEDOPS_L2_11_ARGS);
L2_11Grads conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward_with(const Conv2dKernels& ck,
                                                                              const BnPoolGroupNormKernels& bk,
                                                                              FUSEDOPS_L2_11_BACKWARD_ARGS);

}  // namespace fusedops
