// The fused L2_11 chain: checks, meta kernels, the device-generic bodies of the CPU and CUDA kernels, and the CPU
// kernels.
#include "ops/conv_bn_pool_group_norm/conv_bn_pool_group_norm.h"

#include <ATen/OpMathType.h>

#include "ops/common/checks.h"
#include "ops/common/tensors.h"
#include "ops/conv2d/conv2d.h"
#include "ops/group_norm/group_norm.h"

namespace fusedops {
namespace {

constexpr const char* kOp = "fusedops::conv_transpose2d_batch_norm_tanh_max_pool_group_norm";

void check_channel_vector(const std::optional<at::Tensor>& t, const c10::SymInt& channels, const at::Tensor& input,
                          const char* name) {
  if (!t.has_value()) return;
  TORCH_CHECK(t->dim() == 1 && t->sym_size(0) == channels, kOp, ": ", name, " must have shape (C) = (", text(channels),
              "), got ", text(t->sym_sizes()));
  check_same_dtype(*t, name, input, "input", kOp);
  check_same_device(*t, name, input, "input", kOp);
}

c10::SymInt pooled_size(const c10::SymInt& size, int64_t kernel, int64_t stride, const char* dim) {
  TORCH_CHECK(size >= kernel, kOp, ": the max-pool kernel (", text(kernel), ") is larger than the BatchNorm output's ",
              dim, " (", text(size), ")");
  return (size - kernel) / stride + 1;  // floor mode
}

struct CheckedSizes {
  std::array<c10::SymInt, 4> conv, out;
};

CheckedSizes check_l2_11(const at::Tensor& input, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                         const std::optional<at::Tensor>& bn_weight, const std::optional<at::Tensor>& bn_bias,
                         at::IntArrayRef pool_kernel, at::IntArrayRef pool_stride, int64_t num_groups,
                         const std::optional<at::Tensor>& gn_weight, const std::optional<at::Tensor>& gn_bias,
                         at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef output_padding,
                         int64_t groups, at::IntArrayRef dilation) {
  const auto conv = check_conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation, kOp);
  check_channel_vector(bn_weight, conv[1], input, "bn_weight");
  check_channel_vector(bn_bias, conv[1], input, "bn_bias");
  TORCH_CHECK(pool_kernel.size() == 2 && pool_stride.size() == 2, kOp,
              ": pool_kernel and pool_stride must have 2 values (h, w)");
  TORCH_CHECK(pool_kernel[0] >= 1 && pool_kernel[1] >= 1, kOp, ": pool_kernel must be >= 1, got (",
              text(pool_kernel[0]), ", ", text(pool_kernel[1]), ")");
  TORCH_CHECK(pool_stride[0] >= 1 && pool_stride[1] >= 1, kOp, ": pool_stride must be >= 1, got (",
              text(pool_stride[0]), ", ", text(pool_stride[1]), ")");
  check_group_norm_params(conv[1], num_groups, gn_weight, gn_bias, input, kOp);
  return {conv,
          {conv[0], conv[1], pooled_size(conv[2], pool_kernel[0], pool_stride[0], "height"),
           pooled_size(conv[3], pool_kernel[1], pool_stride[1], "width")}};
}

CheckedSizes check_forward(FUSEDOPS_L2_11_ARGS) {
  const CheckedSizes s = check_l2_11(input, weight, bias, bn_weight, bn_bias, pool_kernel, pool_stride, num_groups,
                                     gn_weight, gn_bias, stride, padding, output_padding, groups, dilation);
  TORCH_CHECK(running_mean.has_value() == running_var.has_value(), kOp,
              ": running_mean and running_var must be given together (or both be None)");
  check_channel_vector(running_mean, s.conv[1], input, "running_mean");
  check_channel_vector(running_var, s.conv[1], input, "running_var");
  TORCH_CHECK(training || running_mean.has_value(), kOp,
              ": running_mean and running_var are required when training is false");
  // F.batch_norm's rule: one value per channel has no variance.
  TORCH_CHECK(!training || s.conv[0] * s.conv[2] * s.conv[3] != 1, kOp,
              ": expected more than 1 value per channel when training, got the convolution's output of shape ",
              text(c10::SymIntArrayRef(s.conv)));
  return s;
}

CheckedSizes check_backward(FUSEDOPS_L2_11_BACKWARD_ARGS) {
  const CheckedSizes s = check_l2_11(input, weight, std::nullopt, bn_weight, bn_bias, pool_kernel, pool_stride,
                                     num_groups, gn_weight, gn_bias, stride, padding, output_padding, groups, dilation);
  for (const auto& [t, name, sizes] :
       {std::tuple{&conv_output, "conv_output", &s.conv}, std::tuple{&grad_output, "grad_output", &s.out}}) {
    check_same_dtype(*t, name, input, "input", kOp);
    check_same_device(*t, name, input, "input", kOp);
    TORCH_CHECK(t->sym_sizes() == c10::SymIntArrayRef(*sizes), kOp, ": ", name, " must have shape ",
                text(c10::SymIntArrayRef(*sizes)), ", got ", text(t->sym_sizes()));
  }
  const auto opmath = at::toOpMathType(input.scalar_type());
  for (const auto& [t, name] : {std::pair{&bn_mean, "bn_mean"}, std::pair{&bn_invstd, "bn_invstd"}}) {
    TORCH_CHECK(t->dim() == 1 && t->sym_size(0) == s.conv[1] && t->scalar_type() == opmath, kOp, ": ", name,
                " must be a (C) = (", text(s.conv[1]), ") tensor of dtype ", opmath, ", got shape ",
                text(t->sym_sizes()), " and dtype ", t->scalar_type());
    check_same_device(*t, name, input, "input", kOp);
  }
  return s;
}

MaxPool2dParams pool_params(at::IntArrayRef kernel, at::IntArrayRef stride) {
  return {kernel[0], kernel[1], stride[0], stride[1]};
}

}  // namespace

L2_11Forward conv_transpose2d_batch_norm_tanh_max_pool_group_norm_with(const Conv2dKernels& ck,
                                                                       const BnPoolGroupNormKernels& bk,
                                                                       bool keep_conv_output, FUSEDOPS_L2_11_ARGS) {
  const CheckedSizes s = check_forward(input, weight, bias, bn_weight, bn_bias, running_mean, running_var, training,
                                       momentum, bn_eps, pool_kernel, pool_stride, num_groups, gn_weight, gn_bias,
                                       gn_eps, stride, padding, output_padding, groups, dilation);
  TileMoments moments;  // the batch statistics' raw material, where the convolution's kernel makes it
  at::Tensor c = conv_transpose2d_forward(ck, input, weight, bias, stride, padding, output_padding, groups, dilation,
                                          training ? &moments : nullptr);
  const int64_t channels = c.size(1);
  const auto opmath = c.options().dtype(at::toOpMathType(c.scalar_type()));
  at::Tensor mean, invstd;
  if (!training) {
    mean = running_mean->to(opmath.dtype(), /*non_blocking=*/false, /*copy=*/true);  // an output: never an alias
    invstd = (running_var->to(opmath.dtype()) + bn_eps).rsqrt_();
  } else if (c.numel() == 0) {  // F.batch_norm on an empty batch: nothing to normalize, running statistics unchanged
    mean = at::zeros({channels}, opmath);
    invstd = at::zeros({channels}, opmath);
  } else {
    mean = at::empty({channels}, opmath);
    invstd = at::empty({channels}, opmath);
    at::Tensor rm = running_mean.value_or(at::Tensor()), rv = running_var.value_or(at::Tensor());
    bk.batch_stats(c, moments, bn_eps, momentum, rm, rv, mean, invstd);
  }
  at::Tensor out = at::empty_symint(s.out, input.options());
  if (out.numel() > 0) {
    bk.forward(c, {mean, invstd, contiguous_or_undefined(bn_weight), contiguous_or_undefined(bn_bias)},
               pool_params(pool_kernel, pool_stride), num_groups, contiguous_or_undefined(gn_weight),
               contiguous_or_undefined(gn_bias), gn_eps, out);
  }
  return {out, keep_conv_output ? c : at::Tensor(), mean, invstd};
}

L2_11Grads conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward_with(const Conv2dKernels& ck,
                                                                              const BnPoolGroupNormKernels& bk,
                                                                              FUSEDOPS_L2_11_BACKWARD_ARGS) {
  check_backward(grad_output, input, weight, conv_output, bn_mean, bn_invstd, bn_weight, bn_bias, training, pool_kernel,
                 pool_stride, num_groups, gn_weight, gn_bias, gn_eps, stride, padding, output_padding, groups, dilation,
                 conv_output_mask);
  const at::Tensor c = conv_output.contiguous();
  const int64_t batch = c.size(0), channels = c.size(1);
  const BatchNormParams bn{bn_mean.contiguous(), bn_invstd.contiguous(), contiguous_or_undefined(bn_weight),
                           contiguous_or_undefined(bn_bias)};
  at::Tensor grad_z = at::zeros_like(c);
  at::Tensor sums = at::zeros({4, batch, channels}, bn_mean.options());
  if (c.numel() > 0) {
    bk.backward(grad_output.contiguous(), c, bn, pool_params(pool_kernel, pool_stride), num_groups,
                contiguous_or_undefined(gn_weight), gn_eps, grad_z, sums);
  }
  const at::Tensor channel_sums = sums.sum(1);  // (4, C): a fixed-order reduction over the batch
  const auto param_grad = [&](const std::optional<at::Tensor>& param, int64_t row) {
    // A copy: outputs must not share channel_sums' storage.
    return param.has_value() ? channel_sums[row].to(param->scalar_type(), false, /*copy=*/true) : at::Tensor();
  };
  at::Tensor gi, gw, gb;
  if (conv_output_mask[0] || conv_output_mask[1] || conv_output_mask[2]) {
    if (c.numel() > 0) bk.batch_norm_input_grad(c, bn, channel_sums.narrow(0, 0, 2), training, grad_z);
    std::tie(gi, gw, gb) = conv_transpose2d_backward_with(
        ck, conv_transpose2d_geometry(input, weight, stride, padding, output_padding, groups, dilation), grad_z, input,
        weight, conv_output_mask);
  }
  return {
      gi, gw, gb, param_grad(bn_weight, 1), param_grad(bn_bias, 0), param_grad(gn_weight, 2), param_grad(gn_bias, 3)};
}

// Meta kernels.
at::Tensor conv_transpose2d_batch_norm_tanh_max_pool_group_norm_meta(FUSEDOPS_L2_11_ARGS) {
  const CheckedSizes s = check_forward(input, weight, bias, bn_weight, bn_bias, running_mean, running_var, training,
                                       momentum, bn_eps, pool_kernel, pool_stride, num_groups, gn_weight, gn_bias,
                                       gn_eps, stride, padding, output_padding, groups, dilation);
  return at::empty_symint(s.out, input.options());
}

L2_11Forward conv_transpose2d_batch_norm_tanh_max_pool_group_norm_forward_meta(FUSEDOPS_L2_11_ARGS) {
  const CheckedSizes s = check_forward(input, weight, bias, bn_weight, bn_bias, running_mean, running_var, training,
                                       momentum, bn_eps, pool_kernel, pool_stride, num_groups, gn_weight, gn_bias,
                                       gn_eps, stride, padding, output_padding, groups, dilation);
  const auto stats = [&] {
    return at::empty_symint({s.conv[1]}, input.options().dtype(at::toOpMathType(input.scalar_type())));
  };
  return {at::empty_symint(s.out, input.options()), at::empty_symint(s.conv, input.options()), stats(), stats()};
}

L2_11Grads conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward_meta(FUSEDOPS_L2_11_BACKWARD_ARGS) {
  const CheckedSizes s = check_backward(grad_output, input, weight, conv_output, bn_mean, bn_invstd, bn_weight, bn_bias,
                                        training, pool_kernel, pool_stride, num_groups, gn_weight, gn_bias, gn_eps,
                                        stride, padding, output_padding, groups, dilation, conv_output_mask);
  const auto like = [](const at::Tensor& t) { return at::empty_symint(t.sym_sizes(), t.options()); };
  const auto channels = [&](bool given) {
    return given ? at::empty_symint({s.conv[1]}, input.options()) : at::Tensor();
  };
  return {conv_output_mask[0] ? like(input) : at::Tensor(),
          conv_output_mask[1] ? like(weight) : at::Tensor(),
          channels(conv_output_mask[2]),
          channels(bn_weight.has_value()),
          channels(bn_bias.has_value()),
          channels(gn_weight.has_value()),
          channels(gn_bias.has_value())};
}

// CPU kernels; the CUDA ones (cuda.cu) add a device guard.
at::Tensor conv_transpose2d_batch_norm_tanh_max_pool_group_norm_cpu(FUSEDOPS_L2_11_ARGS) {
  return std::get<0>(conv_transpose2d_batch_norm_tanh_max_pool_group_norm_with(
      conv2d_cpu_kernels, bn_pool_group_norm_cpu_kernels, false, input, weight, bias, bn_weight, bn_bias, running_mean,
      running_var, training, momentum, bn_eps, pool_kernel, pool_stride, num_groups, gn_weight, gn_bias, gn_eps, stride,
      padding, output_padding, groups, dilation));
}

L2_11Forward conv_transpose2d_batch_norm_tanh_max_pool_group_norm_forward_cpu(FUSEDOPS_L2_11_ARGS) {
  return conv_transpose2d_batch_norm_tanh_max_pool_group_norm_with(
      conv2d_cpu_kernels, bn_pool_group_norm_cpu_kernels, true, input, weight, bias, bn_weight, bn_bias, running_mean,
      running_var, training, momentum, bn_eps, pool_kernel, pool_stride, num_groups, gn_weight, gn_bias, gn_eps, stride,
      padding, output_padding, groups, dilation);
}

L2_11Grads conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward_cpu(FUSEDOPS_L2_11_BACKWARD_ARGS) {
  return conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward_with(
      conv2d_cpu_kernels, bn_pool_group_norm_cpu_kernels, grad_output, input, weight, conv_output, bn_mean, bn_invstd,
      bn_weight, bn_bias, training, pool_kernel, pool_stride, num_groups, gn_weight, gn_bias, gn_eps, stride, padding,
      output_padding, groups, dilation, conv_output_mask);
}

}  // namespace fusedops
