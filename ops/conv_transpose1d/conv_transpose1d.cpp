// fusedops::conv_transpose1d: argument checks, shape math and the meta kernels.
#include "ops/conv_transpose1d/conv_transpose1d.h"

#include "ops/common/checks.h"
#include "ops/common/tensors.h"

namespace fusedops {
namespace {
constexpr const char* kOp = "fusedops::conv_transpose1d";
}

c10::SymInt check_conv_transpose1d(const at::Tensor& input, const at::Tensor& weight,
                                   const std::optional<at::Tensor>& bias, const ConvTranspose1dParams& p) {
  check_dim(input, 3, kOp, "input", "(N, C_in, L)");
  check_dim(weight, 3, kOp, "weight", "(C_in, C_out / groups, K)");
  check_float(input, kOp, "input");
  check_same_dtype(weight, "weight", input, "input", kOp);
  check_same_device(weight, "weight", input, "input", kOp);
  TORCH_CHECK(p.stride >= 1, kOp, ": stride must be >= 1, got ", text(p.stride));
  TORCH_CHECK(p.dilation >= 1, kOp, ": dilation must be >= 1, got ", text(p.dilation));
  TORCH_CHECK(p.padding >= 0, kOp, ": padding must be >= 0, got ", text(p.padding));
  TORCH_CHECK(p.output_padding >= 0 && p.output_padding < std::max(p.stride, p.dilation), kOp,
              ": output_padding must be >= 0 and smaller than max(stride, dilation) = ",
              text(std::max(p.stride, p.dilation)), ", got ", text(p.output_padding));
  TORCH_CHECK(p.groups >= 1, kOp, ": groups must be >= 1, got ", text(p.groups));
  const c10::SymInt& in_channels = input.sym_size(1);
  TORCH_CHECK(in_channels % p.groups == 0, kOp, ": input channels (", text(in_channels),
              ") must be divisible by groups (", text(p.groups), ")");
  TORCH_CHECK(weight.sym_size(0) == in_channels, kOp, ": weight.size(0) must equal the input channels (",
              text(in_channels), "), got weight of shape ", text(weight.sym_sizes()));
  TORCH_CHECK(weight.sym_size(1) >= 1 && weight.sym_size(2) >= 1, kOp,
              ": weight must have at least one output channel and one tap, got shape ", text(weight.sym_sizes()));
  TORCH_CHECK(input.sym_size(2) >= 1, kOp, ": input length must be >= 1, got input of shape ", text(input.sym_sizes()));
  if (bias.has_value()) {
    const c10::SymInt out_channels = weight.sym_size(1) * p.groups;
    check_dim(*bias, 1, kOp, "bias", "(C_out)");
    TORCH_CHECK(bias->sym_size(0) == out_channels, kOp, ": bias must have C_out = ", text(out_channels),
                " elements, got ", text(bias->sym_size(0)));
    check_same_dtype(*bias, "bias", input, "input", kOp);
    check_same_device(*bias, "bias", input, "input", kOp);
  }
  c10::SymInt out_length = conv_transpose1d_output_length(input.sym_size(2), weight.sym_size(2), p);
  TORCH_CHECK(out_length >= 1, kOp, ": the output length (L - 1) * stride - 2 * padding + dilation * (K - 1) + ",
              "output_padding + 1 must be >= 1, got ", text(out_length), " for input of shape ", text(input.sym_sizes()));
  return out_length;
}

void check_conv_transpose1d_backward(const at::Tensor& grad_output, const at::Tensor& input,
                                     const at::Tensor& weight, const ConvTranspose1dParams& p) {
  const c10::SymInt out_length = check_conv_transpose1d(input, weight, std::nullopt, p);
  check_same_dtype(grad_output, "grad_output", input, "input", "fusedops::conv_transpose1d_backward");
  check_same_device(grad_output, "grad_output", input, "input", "fusedops::conv_transpose1d_backward");
  TORCH_CHECK(grad_output.dim() == 3 && grad_output.sym_size(0) == input.sym_size(0) &&
                  grad_output.sym_size(1) == weight.sym_size(1) * p.groups && grad_output.sym_size(2) == out_length,
              "fusedops::conv_transpose1d_backward: grad_output must have the forward output's shape (",
              text(input.sym_size(0)), ", ", text(weight.sym_size(1) * p.groups), ", ", text(out_length), "), got ",
              text(grad_output.sym_sizes()));
}

ConvTranspose1dCall prepare_conv_transpose1d(const at::Tensor& input, const at::Tensor& weight,
                                             const std::optional<at::Tensor>& bias, const ConvTranspose1dParams& p) {
  check_conv_transpose1d(input, weight, bias, p);
  const at::Tensor x = input.contiguous(), w = weight.contiguous();
  ConvTranspose1dShape shape(x, w, p);
  at::Tensor out = at::empty({shape.batch, shape.out_channels, shape.out_length}, x.options());
  return {x, w, contiguous_or_undefined(bias), shape, out};
}

ConvTranspose1dBackwardCall prepare_conv_transpose1d_backward(const at::Tensor& grad_output, const at::Tensor& input,
                                                              const at::Tensor& weight, const ConvTranspose1dParams& p,
                                                              std::array<bool, 3> output_mask) {
  check_conv_transpose1d_backward(grad_output, input, weight, p);
  const at::Tensor x = input.contiguous(), w = weight.contiguous();
  ConvTranspose1dShape shape(x, w, p);
  return {grad_output.contiguous(),
          x,
          w,
          shape,
          output_mask[0] ? at::empty_like(x) : at::Tensor(),
          output_mask[1] ? at::empty_like(w) : at::Tensor(),
          output_mask[2] ? at::empty({shape.out_channels}, w.options()) : at::Tensor()};
}

at::Tensor conv_transpose1d_meta(const at::Tensor& input, const at::Tensor& weight,
                                 const std::optional<at::Tensor>& bias, int64_t stride, int64_t padding,
                                 int64_t output_padding, int64_t groups, int64_t dilation) {
  const ConvTranspose1dParams p{stride, padding, output_padding, groups, dilation};
  const c10::SymInt out_length = check_conv_transpose1d(input, weight, bias, p);
  return at::empty_symint({input.sym_size(0), weight.sym_size(1) * groups, out_length}, input.options());
}

ConvGrads conv_transpose1d_backward_meta(const at::Tensor& grad_output, const at::Tensor& input,
                                         const at::Tensor& weight, int64_t stride, int64_t padding,
                                         int64_t output_padding, int64_t groups, int64_t dilation,
                                         std::array<bool, 3> output_mask) {
  check_conv_transpose1d_backward(grad_output, input, weight, {stride, padding, output_padding, groups, dilation});
  return {output_mask[0] ? at::empty_symint(input.sym_sizes(), input.options()) : at::Tensor(),
          output_mask[1] ? at::empty_symint(weight.sym_sizes(), weight.options()) : at::Tensor(),
          output_mask[2] ? at::empty_symint({grad_output.sym_size(1)}, grad_output.options()) : at::Tensor()};
}

}  // namespace fusedops
