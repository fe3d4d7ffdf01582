// fusedops::conv2d and fusedops::conv_transpose2d: argument checks, shape math, the meta kernels and the device-generic
// halves of the CPU and CUDA kernels (allocation, bias and the choice of kernel).
#include "ops/conv2d/conv2d.h"

#include <ATen/OpMathType.h>

#include "ops/common/checks.h"
#include "ops/common/tensors.h"

namespace fusedops {
namespace {

void check_pair(at::IntArrayRef v, const char* name, int64_t min, const char* op) {
  TORCH_CHECK(v.size() == 2, op, ": ", name, " must have 2 values (height, width), got ", text(int64_t(v.size())));
  TORCH_CHECK(v[0] >= min && v[1] >= min, op, ": ", name, " must be >= ", text(min), ", got [", text(v[0]), ", ",
              text(v[1]), "]");
}

// The checks both operators share. `weight_in` is the weight dimension that must equal input channels / groups (conv2d)
// or input channels (conv_transpose2d).
void check_common(const at::Tensor& input, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                  at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups,
                  const char* weight_layout, const c10::SymInt& out_channels, const char* op) {
  check_dim(input, 4, op, "input", "(N, C_in, H, W)");
  check_dim(weight, 4, op, "weight", weight_layout);
  check_float(input, op, "input");
  check_same_dtype(weight, "weight", input, "input", op);
  check_same_device(weight, "weight", input, "input", op);
  check_pair(stride, "stride", 1, op);
  check_pair(padding, "padding", 0, op);
  check_pair(dilation, "dilation", 1, op);
  TORCH_CHECK(groups >= 1, op, ": groups must be >= 1, got ", text(groups));
  TORCH_CHECK(input.sym_size(1) % groups == 0, op, ": input channels (", text(input.sym_size(1)),
              ") must be divisible by groups (", text(groups), ")");
  TORCH_CHECK(weight.sym_size(2) >= 1 && weight.sym_size(3) >= 1, op,
              ": weight must have a kernel of at least 1 x 1, got shape ", text(weight.sym_sizes()));
  if (bias.has_value()) {
    check_dim(*bias, 1, op, "bias", "(C_out)");
    TORCH_CHECK(bias->sym_size(0) == out_channels, op, ": bias must have C_out = ", text(out_channels),
                " elements, got ", text(bias->sym_size(0)));
    check_same_dtype(*bias, "bias", input, "input", op);
    check_same_device(*bias, "bias", input, "input", op);
  }
}

void check_output_size(const std::array<c10::SymInt, 4>& out, const at::Tensor& input, const char* op) {
  TORCH_CHECK(out[2] >= 1 && out[3] >= 1, op, ": the output size must be >= 1 in each dimension, got [", text(out[2]),
              ", ", text(out[3]), "] for input of shape ", text(input.sym_sizes()));
}

}  // namespace

std::array<c10::SymInt, 4> check_conv2d(const at::Tensor& input, const at::Tensor& weight,
                                        const std::optional<at::Tensor>& bias, at::IntArrayRef stride,
                                        at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups,
                                        const char* op) {
  check_common(input, weight, bias, stride, padding, dilation, groups, "(C_out, C_in / groups, kH, kW)",
               weight.sym_size(0), op);
  TORCH_CHECK(weight.sym_size(1) * groups == input.sym_size(1), op, ": weight.size(1) * groups must equal the ",
              "input channels (", text(input.sym_size(1)), "), got weight of shape ", text(weight.sym_sizes()));
  TORCH_CHECK(weight.sym_size(0) % groups == 0, op, ": output channels (weight.size(0) = ", text(weight.sym_size(0)),
              ") must be divisible by groups (", text(groups), ")");
  std::array<c10::SymInt, 4> out{
      input.sym_size(0), weight.sym_size(0),
      conv2d_output_size(input.sym_size(2), weight.sym_size(2), stride[0], padding[0], dilation[0]),
      conv2d_output_size(input.sym_size(3), weight.sym_size(3), stride[1], padding[1], dilation[1])};
  // The floor division above rounds toward zero for a negative numerator: check the numerator itself.
  TORCH_CHECK(input.sym_size(2) + 2 * padding[0] >= dilation[0] * (weight.sym_size(2) - 1) + 1 &&
                  input.sym_size(3) + 2 * padding[1] >= dilation[1] * (weight.sym_size(3) - 1) + 1,
              op, ": the output size must be >= 1 in each dimension: the padded input ", text(input.sym_sizes()),
              " is smaller than the dilated kernel ", text(weight.sym_sizes()));
  check_output_size(out, input, op);
  return out;
}

std::array<c10::SymInt, 4> check_conv_transpose2d(const at::Tensor& input, const at::Tensor& weight,
                                                  const std::optional<at::Tensor>& bias, at::IntArrayRef stride,
                                                  at::IntArrayRef padding, at::IntArrayRef output_padding,
                                                  int64_t groups, at::IntArrayRef dilation, const char* op) {
  check_common(input, weight, bias, stride, padding, dilation, groups, "(C_in, C_out / groups, kH, kW)",
               weight.sym_size(1) * groups, op);
  TORCH_CHECK(weight.sym_size(0) == input.sym_size(1), op, ": weight.size(0) must equal the input channels (",
              text(input.sym_size(1)), "), got weight of shape ", text(weight.sym_sizes()));
  TORCH_CHECK(output_padding.size() == 2, op, ": output_padding must have 2 values");
  for (int d = 0; d < 2; ++d) {
    TORCH_CHECK(output_padding[d] >= 0 && output_padding[d] < std::max(stride[d], dilation[d]), op,
                ": output_padding must be >= 0 and smaller than max(stride, "
                "dilation) in each dimension, got [",
                text(output_padding[0]), ", ", text(output_padding[1]), "]");
  }
  std::array<c10::SymInt, 4> out{input.sym_size(0), weight.sym_size(1) * groups,
                                 conv_transpose2d_output_size(input.sym_size(2), weight.sym_size(2), stride[0],
                                                              padding[0], output_padding[0], dilation[0]),
                                 conv_transpose2d_output_size(input.sym_size(3), weight.sym_size(3), stride[1],
                                                              padding[1], output_padding[1], dilation[1])};
  check_output_size(out, input, op);
  return out;
}

namespace {
void check_grad_output(const at::Tensor& grad_output, const at::Tensor& input,
                       const std::array<c10::SymInt, 4>& out_sizes, const char* op) {
  check_same_dtype(grad_output, "grad_output", input, "input", op);
  check_same_device(grad_output, "grad_output", input, "input", op);
  TORCH_CHECK(grad_output.dim() == 4 && grad_output.sym_sizes() == c10::SymIntArrayRef(out_sizes), op,
              ": grad_output must have the forward output's shape ", text(c10::SymIntArrayRef(out_sizes)), ", got ",
              text(grad_output.sym_sizes()));
}
}  // namespace

void check_conv2d_backward(const at::Tensor& grad_output, const at::Tensor& input, const at::Tensor& weight,
                           at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups) {
  const char* op = "fusedops::conv2d_backward";
  check_grad_output(grad_output, input,
                    check_conv2d(input, weight, std::nullopt, stride, padding, dilation, groups, op), op);
}

void check_conv_transpose2d_backward(const at::Tensor& grad_output, const at::Tensor& input, const at::Tensor& weight,
                                     at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef output_padding,
                                     int64_t groups, at::IntArrayRef dilation) {
  const char* op = "fusedops::conv_transpose2d_backward";
  check_grad_output(
      grad_output, input,
      check_conv_transpose2d(input, weight, std::nullopt, stride, padding, output_padding, groups, dilation, op), op);
}

Conv2dGeometry conv2d_geometry(const at::Tensor& input, const at::Tensor& weight, at::IntArrayRef stride,
                               at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups) {
  Conv2dGeometry g{input.size(0),
                   groups,
                   input.size(1),
                   input.size(2),
                   input.size(3),
                   weight.size(0),
                   0,
                   0,
                   weight.size(2),
                   weight.size(3),
                   stride[0],
                   stride[1],
                   padding[0],
                   padding[1],
                   dilation[0],
                   dilation[1]};
  g.out_h = conv2d_output_size(g.in_h, g.kernel_h, g.stride_h, g.pad_h, g.dil_h).expect_int();
  g.out_w = conv2d_output_size(g.in_w, g.kernel_w, g.stride_w, g.pad_w, g.dil_w).expect_int();
  return g;
}

Conv2dGeometry conv_transpose2d_geometry(const at::Tensor& input, const at::Tensor& weight, at::IntArrayRef stride,
                                         at::IntArrayRef padding, at::IntArrayRef output_padding, int64_t groups,
                                         at::IntArrayRef dilation) {
  // The convolution's output is conv_transpose2d's input; its input is conv_transpose2d's output.
  Conv2dGeometry g{
      input.size(0), groups,         weight.size(1) * groups, 0,         0,         input.size(1), input.size(2),
      input.size(3), weight.size(2), weight.size(3),          stride[0], stride[1], padding[0],    padding[1],
      dilation[0],   dilation[1]};
  g.in_h =
      conv_transpose2d_output_size(g.out_h, g.kernel_h, g.stride_h, g.pad_h, output_padding[0], g.dil_h).expect_int();
  g.in_w =
      conv_transpose2d_output_size(g.out_w, g.kernel_w, g.stride_w, g.pad_w, output_padding[1], g.dil_w).expect_int();
  return g;
}

at::Tensor conv2d_forward(const Conv2dKernels& k, const at::Tensor& input, const at::Tensor& weight,
                          const std::optional<at::Tensor>& bias, at::IntArrayRef stride, at::IntArrayRef padding,
                          at::IntArrayRef dilation, int64_t groups) {
  check_conv2d(input, weight, bias, stride, padding, dilation, groups, "fusedops::conv2d");
  const Conv2dGeometry g = conv2d_geometry(input, weight, stride, padding, dilation, groups);
  at::Tensor out = at::empty({g.batch, g.out_channels, g.out_h, g.out_w}, input.options());
  if (out.numel() > 0) {
    k.forward(g, input.contiguous(), weight.contiguous(), contiguous_or_undefined(bias), out);
  }
  return out;
}

at::Tensor conv_transpose2d_forward(const Conv2dKernels& k, const at::Tensor& input, const at::Tensor& weight,
                                    const std::optional<at::Tensor>& bias, at::IntArrayRef stride,
                                    at::IntArrayRef padding, at::IntArrayRef output_padding, int64_t groups,
                                    at::IntArrayRef dilation, TileMoments* moments) {
  check_conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation,
                         "fusedops::conv_transpose2d");
  const Conv2dGeometry g = conv_transpose2d_geometry(input, weight, stride, padding, output_padding, groups, dilation);
  at::Tensor out = at::empty({g.batch, g.in_channels, g.in_h, g.in_w}, input.options());
  if (out.numel() > 0 && moments != nullptr && k.transposed_with_moments != nullptr) {
    k.transposed_with_moments(g, input.contiguous(), weight.contiguous(), contiguous_or_undefined(bias), out, *moments);
  } else if (out.numel() > 0) {
    k.transposed(g, input.contiguous(), weight.contiguous(), contiguous_or_undefined(bias), out);
  }
  return out;
}

namespace {
// The sum over (N, H, W) of each channel, accumulated in float32 for half types.
at::Tensor channel_sums(const at::Tensor& t) {
  const auto acc = at::toOpMathType(t.scalar_type());
  return t.sum({0, 2, 3}, false, acc).to(t.scalar_type());
}
}  // namespace

ConvGrads conv2d_backward_with(const Conv2dKernels& k, const Conv2dGeometry& g, const at::Tensor& grad_output,
                               const at::Tensor& input, const at::Tensor& weight, std::array<bool, 3> mask) {
  const at::Tensor go = grad_output.contiguous(), x = input.contiguous(), w = weight.contiguous();
  at::Tensor gi, gw, gb;
  if (mask[0]) {
    gi = at::empty_like(x);
    if (gi.numel() > 0) k.transposed(g, go, w, at::Tensor(), gi);
  }
  if (mask[1]) {
    gw = at::empty_like(w);
    k.weight_grad(g, x, go, gw);
  }
  if (mask[2]) gb = channel_sums(go);
  return {gi, gw, gb};
}

ConvGrads conv_transpose2d_backward_with(const Conv2dKernels& k, const Conv2dGeometry& g, const at::Tensor& grad_output,
                                         const at::Tensor& input, const at::Tensor& weight, std::array<bool, 3> mask) {
  const at::Tensor go = grad_output.contiguous(), x = input.contiguous(), w = weight.contiguous();
  at::Tensor gi, gw, gb;
  if (mask[0]) {
    gi = at::empty_like(x);
    if (gi.numel() > 0) k.forward(g, go, w, at::Tensor(), gi);
  }
  if (mask[1]) {  // the convolution's input is grad_output, its output gradient
                  // is input
    gw = at::empty_like(w);
    k.weight_grad(g, go, x, gw);
  }
  if (mask[2]) gb = channel_sums(go);
  return {gi, gw, gb};
}

at::Tensor conv2d_meta(FUSEDOPS_CONV2D_ARGS) {
  return at::empty_symint(check_conv2d(input, weight, bias, stride, padding, dilation, groups, "fusedops::conv2d"),
                          input.options());
}

ConvGrads conv2d_backward_meta(FUSEDOPS_CONV2D_BACKWARD_ARGS) {
  check_conv2d_backward(grad_output, input, weight, stride, padding, dilation, groups);
  return {output_mask[0] ? at::empty_symint(input.sym_sizes(), input.options()) : at::Tensor(),
          output_mask[1] ? at::empty_symint(weight.sym_sizes(), weight.options()) : at::Tensor(),
          output_mask[2] ? at::empty_symint({weight.sym_size(0)}, weight.options()) : at::Tensor()};
}

at::Tensor conv_transpose2d_meta(FUSEDOPS_CONV_TRANSPOSE2D_ARGS) {
  return at::empty_symint(check_conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation,
                                                 "fusedops::conv_transpose2d"),
                          input.options());
}

ConvGrads conv_transpose2d_backward_meta(FUSEDOPS_CONV_TRANSPOSE2D_BACKWARD_ARGS) {
  check_conv_transpose2d_backward(grad_output, input, weight, stride, padding, output_padding, groups, dilation);
  return {output_mask[0] ? at::empty_symint(input.sym_sizes(), input.options()) : at::Tensor(),
          output_mask[1] ? at::empty_symint(weight.sym_sizes(), weight.options()) : at::Tensor(),
          output_mask[2] ? at::empty_symint({weight.sym_size(1) * groups}, weight.options()) : at::Tensor()};
}

// The CPU kernels; the CUDA ones (cuda.cu) add a device guard around the same calls.
at::Tensor conv2d_cpu(FUSEDOPS_CONV2D_ARGS) {
  return conv2d_forward(conv2d_cpu_kernels, input, weight, bias, stride, padding, dilation, groups);
}

ConvGrads conv2d_backward_cpu(FUSEDOPS_CONV2D_BACKWARD_ARGS) {
  check_conv2d_backward(grad_output, input, weight, stride, padding, dilation, groups);
  return conv2d_backward_with(conv2d_cpu_kernels, conv2d_geometry(input, weight, stride, padding, dilation, groups),
                              grad_output, input, weight, output_mask);
}

at::Tensor conv_transpose2d_cpu(FUSEDOPS_CONV_TRANSPOSE2D_ARGS) {
  return conv_transpose2d_forward(conv2d_cpu_kernels, input, weight, bias, stride, padding, output_padding, groups,
                                  dilation);
}

ConvGrads conv_transpose2d_backward_cpu(FUSEDOPS_CONV_TRANSPOSE2D_BACKWARD_ARGS) {
  check_conv_transpose2d_backward(grad_output, input, weight, stride, padding, output_padding, groups, dilation);
  return conv_transpose2d_backward_with(
      conv2d_cpu_kernels, conv_transpose2d_geometry(input, weight, stride, padding, output_padding, groups, dilation),
      grad_output, input, weight, output_mask);
}

}  // namespace fusedops
