// fusedops::conv_transpose1d on the CPU: direct loops in the scatter form (each input sample adds
// weight * x to the outputs it touches), parallel over (batch, channel) rows. Accumulates in
// at::opmath_type (float32 for half types).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "ops/common/tensors.h"
#include "ops/conv_transpose1d/conv_transpose1d.h"

namespace fusedops {
namespace {

using Shape = ConvTranspose1dShape;

// Output phase r (t = r + stride * u) receives, from tap k, input l = u + c with
// c = (r + padding - k * dilation) / stride when that divides exactly: for each phase the loop runs over
// contiguous u and l, which vectorizes, and each phase is written out once.
template <typename scalar_t>
void forward_kernel(const Shape& s, const scalar_t* x, const scalar_t* w, const scalar_t* bias, scalar_t* out) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t stride = s.p.stride;
  at::parallel_for(0, s.batch * s.out_channels, 1, [&](int64_t begin, int64_t end) {
    std::vector<opmath_t> acc((s.out_length + stride - 1) / stride);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t n = row / s.out_channels, co = row % s.out_channels;
      const int64_t g = co / s.out_per_group, co_in_group = co % s.out_per_group;
      scalar_t* out_row = out + row * s.out_length;
      for (int64_t r = 0; r < std::min(stride, s.out_length); ++r) {
        const int64_t count = (s.out_length - r + stride - 1) / stride;
        std::fill(acc.begin(), acc.begin() + count, bias ? static_cast<opmath_t>(bias[co]) : opmath_t(0));
        for (int64_t ci = g * s.in_per_group; ci < (g + 1) * s.in_per_group; ++ci) {
          const scalar_t* x_row = x + (n * s.in_channels + ci) * s.length;
          for (int64_t k = 0; k < s.kernel; ++k) {
            const int64_t num = r + s.p.padding - k * s.p.dilation;
            if (num % stride != 0) continue;
            const int64_t c = num / stride;
            const int64_t u_begin = std::max<int64_t>(0, -c), u_end = std::min(count, s.length - c);
            const opmath_t wv = w[(ci * s.out_per_group + co_in_group) * s.kernel + k];
            for (int64_t u = u_begin; u < u_end; ++u) acc[u] += wv * static_cast<opmath_t>(x_row[u + c]);
          }
        }
        for (int64_t u = 0; u < count; ++u) out_row[r + stride * u] = static_cast<scalar_t>(acc[u]);
      }
    }
  });
}

template <typename scalar_t>
void grad_input_kernel(const Shape& s, const scalar_t* go, const scalar_t* w, scalar_t* gi) {
  using opmath_t = at::opmath_type<scalar_t>;
  at::parallel_for(0, s.batch * s.in_channels, 1, [&](int64_t begin, int64_t end) {
    std::vector<opmath_t> acc(s.length);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t n = row / s.in_channels, ci = row % s.in_channels, g = ci / s.in_per_group;
      std::fill(acc.begin(), acc.end(), opmath_t(0));
      for (int64_t j = 0; j < s.out_per_group; ++j) {
        const scalar_t* go_row = go + (n * s.out_channels + g * s.out_per_group + j) * s.out_length;
        for (int64_t k = 0; k < s.kernel; ++k) {
          const opmath_t wv = w[(ci * s.out_per_group + j) * s.kernel + k];
          const int64_t offset = k * s.p.dilation - s.p.padding;
          int64_t l0, l1;
          s.input_range(offset, l0, l1);
          for (int64_t l = l0; l < l1; ++l) acc[l] += wv * static_cast<opmath_t>(go_row[l * s.p.stride + offset]);
        }
      }
      std::copy(acc.begin(), acc.end(), gi + row * s.length);
    }
  });
}

// Each task owns the weight rows of its input channels, so no two tasks write the same element.
template <typename scalar_t>
void grad_weight_kernel(const Shape& s, const scalar_t* x, const scalar_t* go, scalar_t* gw) {
  using opmath_t = at::opmath_type<scalar_t>;
  at::parallel_for(0, s.in_channels, 1, [&](int64_t begin, int64_t end) {
    for (int64_t ci = begin; ci < end; ++ci) {
      const int64_t g = ci / s.in_per_group;
      for (int64_t j = 0; j < s.out_per_group; ++j) {
        for (int64_t k = 0; k < s.kernel; ++k) {
          const int64_t offset = k * s.p.dilation - s.p.padding;
          int64_t l0, l1;
          s.input_range(offset, l0, l1);
          opmath_t acc = 0;
          for (int64_t n = 0; n < s.batch; ++n) {
            const scalar_t* x_row = x + (n * s.in_channels + ci) * s.length;
            const scalar_t* go_row = go + (n * s.out_channels + g * s.out_per_group + j) * s.out_length;
            for (int64_t l = l0; l < l1; ++l) {
              acc += static_cast<opmath_t>(x_row[l]) * static_cast<opmath_t>(go_row[l * s.p.stride + offset]);
            }
          }
          gw[(ci * s.out_per_group + j) * s.kernel + k] = acc;
        }
      }
    }
  });
}

template <typename scalar_t>
void grad_bias_kernel(const Shape& s, const scalar_t* go, scalar_t* gb) {
  using opmath_t = at::opmath_type<scalar_t>;
  at::parallel_for(0, s.out_channels, 1, [&](int64_t begin, int64_t end) {
    for (int64_t co = begin; co < end; ++co) {
      opmath_t acc = 0;
      for (int64_t n = 0; n < s.batch; ++n) {
        const scalar_t* go_row = go + (n * s.out_channels + co) * s.out_length;
        for (int64_t t = 0; t < s.out_length; ++t) acc += static_cast<opmath_t>(go_row[t]);
      }
      gb[co] = acc;
    }
  });
}

}  // namespace

at::Tensor conv_transpose1d_cpu(const at::Tensor& input, const at::Tensor& weight,
                                const std::optional<at::Tensor>& bias, int64_t stride, int64_t padding,
                                int64_t output_padding, int64_t groups, int64_t dilation) {
  const ConvTranspose1dCall c =
      prepare_conv_transpose1d(input, weight, bias, {stride, padding, output_padding, groups, dilation});
  if (c.out.numel() == 0) return c.out;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, c.input.scalar_type(), "fusedops::conv_transpose1d cpu",
                                  [&] {
                                    forward_kernel<scalar_t>(
                                        c.shape, c.input.const_data_ptr<scalar_t>(), c.weight.const_data_ptr<scalar_t>(),
                                        data_or_null<scalar_t>(c.bias),
                                        c.out.mutable_data_ptr<scalar_t>());
                                  });
  return c.out;
}

ConvGrads conv_transpose1d_backward_cpu(const at::Tensor& grad_output, const at::Tensor& input,
                                        const at::Tensor& weight, int64_t stride, int64_t padding,
                                        int64_t output_padding, int64_t groups, int64_t dilation,
                                        std::array<bool, 3> output_mask) {
  const ConvTranspose1dBackwardCall c = prepare_conv_transpose1d_backward(
      grad_output, input, weight, {stride, padding, output_padding, groups, dilation}, output_mask);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, c.input.scalar_type(),
                                  "fusedops::conv_transpose1d_backward cpu", [&] {
                                    const scalar_t* go = c.grad_output.const_data_ptr<scalar_t>();
                                    if (c.grad_input.defined() && c.grad_input.numel() > 0) {
                                      grad_input_kernel<scalar_t>(c.shape, go, c.weight.const_data_ptr<scalar_t>(),
                                                                  c.grad_input.mutable_data_ptr<scalar_t>());
                                    }
                                    if (c.grad_weight.defined()) {
                                      grad_weight_kernel<scalar_t>(c.shape, c.input.const_data_ptr<scalar_t>(), go,
                                                                   c.grad_weight.mutable_data_ptr<scalar_t>());
                                    }
                                    if (c.grad_bias.defined()) {
                                      grad_bias_kernel<scalar_t>(c.shape, go, c.grad_bias.mutable_data_ptr<scalar_t>());
                                    }
                                  });
  return {c.grad_input, c.grad_weight, c.grad_bias};
}

}  // namespace fusedops
