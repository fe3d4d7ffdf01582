// The convolution kernels on the CPU (ops/conv2d/conv2d.h says which operator uses which): direct loops, parallel over
// (batch, channel) planes, each task writing only its own planes. Plane accumulation is in at::opmath_type (float32 for
// half types); the weight gradient's long reductions in at::acc_type (float64 for float32).
#include <ATen/AccumulateType.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "ops/common/tensors.h"
#include "ops/conv2d/conv2d.h"

namespace fusedops {
namespace {

using G = Conv2dGeometry;

// The output positions o in [0, out_size) whose input position o * stride + offset lies in [0, in_size).
inline void valid_range(int64_t out_size, int64_t in_size, int64_t stride, int64_t offset, int64_t& begin,
                        int64_t& end) {
  begin = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const int64_t last = in_size - 1 - offset;
  end = last < 0 ? 0 : std::min(out_size, last / stride + 1);
  end = std::max(begin, end);
}

template <typename scalar_t>
void forward_kernel(const G& g, const scalar_t* x, const scalar_t* w, const scalar_t* bias, scalar_t* y) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t ipg = g.in_per_group(), opg = g.out_per_group(), plane = g.out_h * g.out_w;
  at::parallel_for(0, g.batch * g.out_channels, 1, [&](int64_t begin, int64_t end) {
    std::vector<opmath_t> acc(plane);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t n = row / g.out_channels, co = row % g.out_channels, grp = co / opg;
      std::fill(acc.begin(), acc.end(), bias ? static_cast<opmath_t>(bias[co]) : opmath_t(0));
      for (int64_t i = 0; i < ipg; ++i) {
        const scalar_t* x_plane = x + (n * g.in_channels + grp * ipg + i) * g.in_h * g.in_w;
        for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
          int64_t oh0, oh1;
          valid_range(g.out_h, g.in_h, g.stride_h, kh * g.dil_h - g.pad_h, oh0, oh1);
          for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
            const opmath_t wv = w[((co * ipg + i) * g.kernel_h + kh) * g.kernel_w + kw];
            const int64_t off_w = kw * g.dil_w - g.pad_w;
            int64_t ow0, ow1;
            valid_range(g.out_w, g.in_w, g.stride_w, off_w, ow0, ow1);
            for (int64_t oh = oh0; oh < oh1; ++oh) {
              const scalar_t* x_row = x_plane + (oh * g.stride_h + kh * g.dil_h - g.pad_h) * g.in_w + off_w;
              opmath_t* acc_row = acc.data() + oh * g.out_w;
              for (int64_t ow = ow0; ow < ow1; ++ow) acc_row[ow] += wv * static_cast<opmath_t>(x_row[ow * g.stride_w]);
            }
          }
        }
      }
      std::copy(acc.begin(), acc.end(), y + row * plane);
    }
  });
}

// Scatter form: each (n, input channel) task adds every output element's contribution to its own plane.
template <typename scalar_t>
void transposed_kernel(const G& g, const scalar_t* y, const scalar_t* w, const scalar_t* bias, scalar_t* x) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t ipg = g.in_per_group(), opg = g.out_per_group(), plane = g.in_h * g.in_w;
  at::parallel_for(0, g.batch * g.in_channels, 1, [&](int64_t begin, int64_t end) {
    std::vector<opmath_t> acc(plane);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t n = row / g.in_channels, ci = row % g.in_channels, grp = ci / ipg, i = ci % ipg;
      std::fill(acc.begin(), acc.end(), bias ? static_cast<opmath_t>(bias[ci]) : opmath_t(0));
      for (int64_t j = 0; j < opg; ++j) {
        const int64_t co = grp * opg + j;
        const scalar_t* y_plane = y + (n * g.out_channels + co) * g.out_h * g.out_w;
        for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
          int64_t oh0, oh1;
          valid_range(g.out_h, g.in_h, g.stride_h, kh * g.dil_h - g.pad_h, oh0, oh1);
          for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
            const opmath_t wv = w[((co * ipg + i) * g.kernel_h + kh) * g.kernel_w + kw];
            const int64_t off_w = kw * g.dil_w - g.pad_w;
            int64_t ow0, ow1;
            valid_range(g.out_w, g.in_w, g.stride_w, off_w, ow0, ow1);
            for (int64_t oh = oh0; oh < oh1; ++oh) {
              opmath_t* acc_row = acc.data() + (oh * g.stride_h + kh * g.dil_h - g.pad_h) * g.in_w + off_w;
              const scalar_t* y_row = y_plane + oh * g.out_w;
              for (int64_t ow = ow0; ow < ow1; ++ow) acc_row[ow * g.stride_w] += wv * static_cast<opmath_t>(y_row[ow]);
            }
          }
        }
      }
      std::copy(acc.begin(), acc.end(), x + row * plane);
    }
  });
}

// Each task owns the weights of its output channels.
template <typename scalar_t>
void weight_grad_kernel(const G& g, const scalar_t* x, const scalar_t* gy, scalar_t* gw) {
  using acc_t = at::acc_type<scalar_t, /*is_cuda=*/false>;
  const int64_t ipg = g.in_per_group(), opg = g.out_per_group();
  at::parallel_for(0, g.out_channels, 1, [&](int64_t begin, int64_t end) {
    for (int64_t co = begin; co < end; ++co) {
      const int64_t grp = co / opg;
      for (int64_t i = 0; i < ipg; ++i) {
        for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
          int64_t oh0, oh1;
          valid_range(g.out_h, g.in_h, g.stride_h, kh * g.dil_h - g.pad_h, oh0, oh1);
          for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
            const int64_t off_w = kw * g.dil_w - g.pad_w;
            int64_t ow0, ow1;
            valid_range(g.out_w, g.in_w, g.stride_w, off_w, ow0, ow1);
            acc_t acc = 0;
            for (int64_t n = 0; n < g.batch; ++n) {
              const scalar_t* x_plane = x + (n * g.in_channels + grp * ipg + i) * g.in_h * g.in_w;
              const scalar_t* gy_plane = gy + (n * g.out_channels + co) * g.out_h * g.out_w;
              for (int64_t oh = oh0; oh < oh1; ++oh) {
                const scalar_t* x_row = x_plane + (oh * g.stride_h + kh * g.dil_h - g.pad_h) * g.in_w + off_w;
                const scalar_t* gy_row = gy_plane + oh * g.out_w;
                for (int64_t ow = ow0; ow < ow1; ++ow) {
                  acc += static_cast<acc_t>(gy_row[ow]) * static_cast<acc_t>(x_row[ow * g.stride_w]);
                }
              }
            }
            gw[((co * ipg + i) * g.kernel_h + kh) * g.kernel_w + kw] = static_cast<scalar_t>(acc);
          }
        }
      }
    }
  });
}

void forward(const G& g, const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias, at::Tensor& y) {
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "fusedops conv2d forward cpu", [&] {
    forward_kernel<scalar_t>(g, x.const_data_ptr<scalar_t>(), w.const_data_ptr<scalar_t>(),
                             data_or_null<scalar_t>(bias), y.mutable_data_ptr<scalar_t>());
  });
}

void transposed(const G& g, const at::Tensor& y, const at::Tensor& w, const at::Tensor& bias, at::Tensor& x) {
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, y.scalar_type(), "fusedops conv2d transposed cpu", [&] {
    transposed_kernel<scalar_t>(g, y.const_data_ptr<scalar_t>(), w.const_data_ptr<scalar_t>(),
                                data_or_null<scalar_t>(bias), x.mutable_data_ptr<scalar_t>());
  });
}

void weight_grad(const G& g, const at::Tensor& x, const at::Tensor& gy, at::Tensor& gw) {
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "fusedops conv2d weight_grad cpu", [&] {
    weight_grad_kernel<scalar_t>(g, x.const_data_ptr<scalar_t>(), gy.const_data_ptr<scalar_t>(),
                                 gw.mutable_data_ptr<scalar_t>());
  });
}

}  // namespace

const Conv2dKernels conv2d_cpu_kernels{forward, transposed, nullptr, weight_grad};

}  // namespace fusedops
