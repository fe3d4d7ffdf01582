// fusedops::conv2d (nn.Conv2d) and fusedops::conv_transpose2d (nn.ConvTranspose2d).
//
// Both are one convolution seen from its two sides. Conv2dGeometry describes the convolution x (N, in_channels, in_h,
// in_w) -> y (N, out_channels, out_h, out_w) with a weight (out_channels, in_channels / groups, kernel_h, kernel_w).
// conv2d computes y from x; conv_transpose2d computes x from y (its weight (C_in, C_out / groups, kH, kW) is that
// weight with conv_transpose2d's input channels as out_channels). The three kernels below therefore serve both
// operators and their backward:
//   conv2d:            forward = forward,    grad_input = transposed, grad_weight = weight_grad(x, grad);
//   conv_transpose2d:  forward = transposed, grad_input = forward,    grad_weight = weight_grad(grad, input).
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <optional>
#include <tuple>

#include "ops/common/conv.h"

namespace fusedops {

struct Conv2dGeometry {
  int64_t batch, groups;
  int64_t in_channels, in_h, in_w;  // conv2d's input, conv_transpose2d's output
  int64_t out_channels, out_h,
      out_w;  // conv2d's output, conv_transpose2d's input
  int64_t kernel_h, kernel_w;
  int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;

  C10_HOST_DEVICE int64_t in_per_group() const { return in_channels / groups; }
  C10_HOST_DEVICE int64_t out_per_group() const { return out_channels / groups; }
};

// conv2d: out_size = (in + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1 (floor).
inline c10::SymInt conv2d_output_size(const c10::SymInt& in, const c10::SymInt& kernel, int64_t stride, int64_t padding,
                                      int64_t dilation) {
  return (in + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1;
}
// conv_transpose2d: out_size = (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1.
inline c10::SymInt conv_transpose2d_output_size(const c10::SymInt& in, const c10::SymInt& kernel, int64_t stride,
                                                int64_t padding, int64_t output_padding, int64_t dilation) {
  return (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1;
}

// Checks every argument of conv2d / conv_transpose2d (ranks, dtypes, devices, channel and group arithmetic,
// hyper-parameters; symbolic sizes allowed) and returns the output's sizes. `op` names the operator in errors.
std::array<c10::SymInt, 4> check_conv2d(const at::Tensor& input, const at::Tensor& weight,
                                        const std::optional<at::Tensor>& bias, at::IntArrayRef stride,
                                        at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups,
                                        const char* op);
std::array<c10::SymInt, 4> check_conv_transpose2d(const at::Tensor& input, const at::Tensor& weight,
                                                  const std::optional<at::Tensor>& bias, at::IntArrayRef stride,
                                                  at::IntArrayRef padding, at::IntArrayRef output_padding,
                                                  int64_t groups, at::IntArrayRef dilation, const char* op);
// The forward's checks plus grad_output against the forward's output shape.
void check_conv2d_backward(const at::Tensor& grad_output, const at::Tensor& input, const at::Tensor& weight,
                           at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups);
void check_conv_transpose2d_backward(const at::Tensor& grad_output, const at::Tensor& input, const at::Tensor& weight,
                                     at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef output_padding,
                                     int64_t groups, at::IntArrayRef dilation);

// The geometries of checked, concrete calls.
Conv2dGeometry conv2d_geometry(const at::Tensor& input, const at::Tensor& weight, at::IntArrayRef stride,
                               at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups);
Conv2dGeometry conv_transpose2d_geometry(const at::Tensor& input, const at::Tensor& weight, at::IntArrayRef stride,
                                         at::IntArrayRef padding, at::IntArrayRef output_padding, int64_t groups,
                                         at::IntArrayRef dilation);

// Per-channel moments of a convolution's output over tiles of each image's pixels, which a batch statistic merges
// instead of reading the output again. moments: (images * tiles_per_image, C, 2) float, the tile's mean and its sum of
// squared deviations from that mean; tile t of an image covers its flattened pixels [t * tile_pixels,
// min((t + 1) * tile_pixels, H * W)). Undefined when the kernel that ran does not produce them.
struct TileMoments {
  at::Tensor moments;
  int64_t tile_pixels = 0, tiles_per_image = 0;
};

// The kernels of one device, on contiguous tensors; `out` is written entirely (bias undefined: none).
struct Conv2dKernels {
  // y = conv(x, w) + bias[out channel]
  void (*forward)(const Conv2dGeometry&, const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias,
                  at::Tensor& y);
  // x = conv^T(y, w) + bias[in channel]
  void (*transposed)(const Conv2dGeometry&, const at::Tensor& y, const at::Tensor& w, const at::Tensor& bias,
                     at::Tensor& x);
  // transposed(), also filling `moments` of x where this device's fast path covers the call (nullptr: never).
  void (*transposed_with_moments)(const Conv2dGeometry&, const at::Tensor& y, const at::Tensor& w,
                                  const at::Tensor& bias, at::Tensor& x, TileMoments& moments);
  // grad_w[o, i, kh, kw] = sum over (n, oh, ow) of grad_y[n, o, oh, ow] * x[n, i, ih, iw]
  void (*weight_grad)(const Conv2dGeometry&, const at::Tensor& x, const at::Tensor& grad_y, at::Tensor& grad_w);
};
extern const Conv2dKernels conv2d_cpu_kernels;
extern const Conv2dKernels conv2d_cuda_kernels;

// The operators' kernels, device-generic: `k` is the device's kernel table. conv_transpose2d's forward is also the
// fused chains' first step; `moments`, when given, receives the output's tile moments where the kernel makes them.
at::Tensor conv2d_forward(const Conv2dKernels& k, const at::Tensor& input, const at::Tensor& weight,
                          const std::optional<at::Tensor>& bias, at::IntArrayRef stride, at::IntArrayRef padding,
                          at::IntArrayRef dilation, int64_t groups);
at::Tensor conv_transpose2d_forward(const Conv2dKernels& k, const at::Tensor& input, const at::Tensor& weight,
                                    const std::optional<at::Tensor>& bias, at::IntArrayRef stride,
                                    at::IntArrayRef padding, at::IntArrayRef output_padding, int64_t groups,
                                    at::IntArrayRef dilation, TileMoments* moments = nullptr);
// The gradients of a convolution given the gradient of its output (ConvGrads: ops/common/conv.h).
ConvGrads conv2d_backward_with(const Conv2dKernels& k, const Conv2dGeometry& g, const at::Tensor& grad_output,
                               const at::Tensor& input, const at::Tensor& weight, std::array<bool, 3> mask);
ConvGrads conv_transpose2d_backward_with(const Conv2dKernels& k, const Conv2dGeometry& g, const at::Tensor& grad_output,
                                         const at::Tensor& input, const at::Tensor& weight, std::array<bool, 3> mask);

#define FUSEDOPS_CONV2D_ARGS                                                                                       \
  const at::Tensor &input, const at::Tensor &weight, const std::optional<at::Tensor>&bias, at::IntArrayRef stride, \
      at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups
#define FUSEDOPS_CONV2D_BACKWARD_ARGS                                                                       \
  const at::Tensor &grad_output, const at::Tensor &input, const at::Tensor &weight, at::IntArrayRef stride, \
      at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups, std::array<bool, 3> output_mask
#define FUSEDOPS_CONV_TRANSPOSE2D_ARGS                                                                             \
  const at::Tensor &input, const at::Tensor &weight, const std::optional<at::Tensor>&bias, at::IntArrayRef stride, \
      at::IntArrayRef padding, at::IntArrayRef output_padding, int64_t groups, at::IntArrayRef dilation
#define FUSEDOPS_CONV_TRANSPOSE2D_BACKWARD_ARGS                                                             \
  const at::Tensor &grad_output, const at::Tensor &input, const at::Tensor &weight, at::IntArrayRef stride, \
      at::IntArrayRef padding, at::IntArrayRef output_padding, int64_t groups, at::IntArrayRef dilation,    \
      std::array<bool, 3> output_mask

at::Tensor conv2d_cpu(FUSEDOPS_CONV2D_ARGS);
at::Tensor conv2d_cuda(FUSEDOPS_CONV2D_ARGS);
at::Tensor conv2d_meta(FUSEDOPS_CONV2D_ARGS);
at::Tensor conv2d_autograd(FUSEDOPS_CONV2D_ARGS);
ConvGrads conv2d_backward_cpu(FUSEDOPS_CONV2D_BACKWARD_ARGS);
ConvGrads conv2d_backward_cuda(FUSEDOPS_CONV2D_BACKWARD_ARGS);
ConvGrads conv2d_backward_meta(FUSEDOPS_CONV2D_BACKWARD_ARGS);
ConvGrads conv2d_backward_autograd(FUSEDOPS_CONV2D_BACKWARD_ARGS);

at::Tensor conv_transpose2d_cpu(FUSEDOPS_CONV_TRANSPOSE2D_ARGS);
at::Tensor conv_transpose2d_cuda(FUSEDOPS_CONV_TRANSPOSE2D_ARGS);
at::Tensor conv_transpose2d_meta(FUSEDOPS_CONV_TRANSPOSE2D_ARGS);
at::Tensor conv_transpose2d_autograd(FUSEDOPS_CONV_TRANSPOSE2D_ARGS);
ConvGrads conv_transpose2d_backward_cpu(FUSEDOPS_CONV_TRANSPOSE2D_BACKWARD_ARGS);
ConvGrads conv_transpose2d_backward_cuda(FUSEDOPS_CONV_TRANSPOSE2D_BACKWARD_ARGS);
ConvGrads conv_transpose2d_backward_meta(FUSEDOPS_CONV_TRANSPOSE2D_BACKWARD_ARGS);
ConvGrads conv_transpose2d_backward_autograd(FUSEDOPS_CONV_TRANSPOSE2D_BACKWARD_ARGS);

}  // namespace fusedops
