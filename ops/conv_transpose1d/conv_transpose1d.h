// fusedops::conv_transpose1d — nn.ConvTranspose1d: input (N, C_in, L), weight (C_in, C_out/groups, K).
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <optional>
#include <tuple>

#include "ops/common/conv.h"

namespace fusedops {

struct ConvTranspose1dParams {
  int64_t stride;
  int64_t padding;
  int64_t output_padding;
  int64_t groups;
  int64_t dilation;
};

// L_out = (L - 1) * stride - 2 * padding + dilation * (K - 1) + output_padding + 1.
inline c10::SymInt conv_transpose1d_output_length(const c10::SymInt& length, const c10::SymInt& kernel,
                                                  const ConvTranspose1dParams& p) {
  return (length - 1) * p.stride - 2 * p.padding + (kernel - 1) * p.dilation + p.output_padding + 1;
}

// Concrete sizes of one call, as the CPU and CUDA kernels see them (inputs already checked).
struct ConvTranspose1dShape {
  int64_t batch, in_channels, length, out_channels, out_length, kernel;
  int64_t in_per_group, out_per_group;
  ConvTranspose1dParams p;

  ConvTranspose1dShape(const at::Tensor& input, const at::Tensor& weight, const ConvTranspose1dParams& params)
      : batch(input.size(0)), in_channels(input.size(1)), length(input.size(2)),
        out_channels(weight.size(1) * params.groups), kernel(weight.size(2)),
        in_per_group(input.size(1) / params.groups), out_per_group(weight.size(1)), p(params) {
    out_length = conv_transpose1d_output_length(length, kernel, p).expect_int();
  }

  // Input positions l whose output position l * stride + offset lies in [0, out_length).
  void input_range(int64_t offset, int64_t& begin, int64_t& end) const {
    begin = offset >= 0 ? 0 : (-offset + p.stride - 1) / p.stride;
    const int64_t last = out_length - 1 - offset;
    end = last < 0 ? 0 : std::min(length, last / p.stride + 1);
  }
};

// One forward call's arguments, checked and contiguous, its sizes, and the (uninitialized) output.
struct ConvTranspose1dCall {
  at::Tensor input, weight, bias;  // bias undefined when there is none
  ConvTranspose1dShape shape;
  at::Tensor out;
};
ConvTranspose1dCall prepare_conv_transpose1d(const at::Tensor& input, const at::Tensor& weight,
                                             const std::optional<at::Tensor>& bias, const ConvTranspose1dParams& p);

// One backward call's arguments, checked and contiguous, its sizes, and the gradients output_mask asks
// for (uninitialized; undefined where not asked for).
struct ConvTranspose1dBackwardCall {
  at::Tensor grad_output, input, weight;
  ConvTranspose1dShape shape;
  at::Tensor grad_input, grad_weight, grad_bias;
};
ConvTranspose1dBackwardCall prepare_conv_transpose1d_backward(const at::Tensor& grad_output, const at::Tensor& input,
                                                              const at::Tensor& weight, const ConvTranspose1dParams& p,
                                                              std::array<bool, 3> output_mask);

// Checks every argument (ranks, dtypes, devices, channel and group arithmetic, hyper-parameters) and
// returns the output length. Works on real, meta and fake tensors alike (symbolic sizes allowed).
c10::SymInt check_conv_transpose1d(const at::Tensor& input, const at::Tensor& weight,
                                   const std::optional<at::Tensor>& bias, const ConvTranspose1dParams& p);
// The same checks, plus grad_output's shape against the forward's output shape.
void check_conv_transpose1d_backward(const at::Tensor& grad_output, const at::Tensor& input, const at::Tensor& weight,
                                     const ConvTranspose1dParams& p);

at::Tensor conv_transpose1d_cpu(const at::Tensor& input, const at::Tensor& weight,
                                const std::optional<at::Tensor>& bias, int64_t stride, int64_t padding,
                                int64_t output_padding, int64_t groups, int64_t dilation);
at::Tensor conv_transpose1d_cuda(const at::Tensor& input, const at::Tensor& weight,
                                 const std::optional<at::Tensor>& bias, int64_t stride, int64_t padding,
                                 int64_t output_padding, int64_t groups, int64_t dilation);
at::Tensor conv_transpose1d_meta(const at::Tensor& input, const at::Tensor& weight,
                                 const std::optional<at::Tensor>& bias, int64_t stride, int64_t padding,
                                 int64_t output_padding, int64_t groups, int64_t dilation);
at::Tensor conv_transpose1d_autograd(const at::Tensor& input, const at::Tensor& weight,
                                     const std::optional<at::Tensor>& bias, int64_t stride, int64_t padding,
                                     int64_t output_padding, int64_t groups, int64_t dilation);

ConvGrads conv_transpose1d_backward_cpu(const at::Tensor& grad_output, const at::Tensor& input,
                                        const at::Tensor& weight, int64_t stride, int64_t padding,
                                        int64_t output_padding, int64_t groups, int64_t dilation,
                                        std::array<bool, 3> output_mask);
ConvGrads conv_transpose1d_backward_cuda(const at::Tensor& grad_output, const at::Tensor& input,
                                         const at::Tensor& weight, int64_t stride, int64_t padding,
                                         int64_t output_padding, int64_t groups, int64_t dilation,
                                         std::array<bool, 3> output_mask);
ConvGrads conv_transpose1d_backward_meta(const at::Tensor& grad_output, const at::Tensor& input,
                                         const at::Tensor& weight, int64_t stride, int64_t padding,
                                         int64_t output_padding, int64_t groups, int64_t dilation,
                                         std::array<bool, 3> output_mask);
ConvGrads conv_transpose1d_backward_autograd(const at::Tensor& grad_output, const at::Tensor& input,
                                             const at::Tensor& weight, int64_t stride, int64_t padding,
                                             int64_t output_padding, int64_t groups, int64_t dilation,
                                             std::array<bool, 3> output_mask);

}  // namespace fusedops
