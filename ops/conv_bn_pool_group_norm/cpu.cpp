// The L2_11 chain's kernels on the CPU (conv_bn_pool_group_norm.h): the batch statistics parallel over channels (two
// exact passes), the pooled GroupNorm and its backward parallel over (sample, group) tasks, each owning its slice of
// every output; sums accumulate in at::acc_type (float64 for float32).
#include <ATen/AccumulateType.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <limits>

#include "ops/common/tensors.h"
#include "ops/conv_bn_pool_group_norm/conv_bn_pool_group_norm.h"

namespace fusedops {
namespace {

template <typename scalar_t>
using acc_t = at::acc_type<scalar_t, false>;

template <typename scalar_t>
void batch_stats_kernel(const at::Tensor& c, double eps, double momentum, at::Tensor& running_mean,
                        at::Tensor& running_var, at::Tensor& mean, at::Tensor& invstd) {
  using T = acc_t<scalar_t>;
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t batch = c.size(0), channels = c.size(1), inner = c.size(2) * c.size(3);
  const T count = T(batch * inner);
  const scalar_t* data = c.const_data_ptr<scalar_t>();
  at::parallel_for(0, channels, 1, [&](int64_t begin, int64_t end) {
    for (int64_t ch = begin; ch < end; ++ch) {
      T sum = 0, squares = 0;
      for (int64_t n = 0; n < batch; ++n) {
        const scalar_t* row = data + (n * channels + ch) * inner;
        for (int64_t i = 0; i < inner; ++i) sum += T(row[i]);
      }
      const T mu = sum / count;
      for (int64_t n = 0; n < batch; ++n) {
        const scalar_t* row = data + (n * channels + ch) * inner;
        for (int64_t i = 0; i < inner; ++i) squares += (T(row[i]) - mu) * (T(row[i]) - mu);
      }
      const T var = squares / count;
      mean.mutable_data_ptr<opmath_t>()[ch] = opmath_t(mu);
      invstd.mutable_data_ptr<opmath_t>()[ch] = opmath_t(T(1) / std::sqrt(var + T(eps)));
      if (running_mean.defined()) {
        scalar_t& rm = running_mean.mutable_data_ptr<scalar_t>()[ch * running_mean.stride(0)];
        scalar_t& rv = running_var.mutable_data_ptr<scalar_t>()[ch * running_var.stride(0)];
        rm = scalar_t((1 - momentum) * T(rm) + momentum * mu);
        rv = scalar_t((1 - momentum) * T(rv) + momentum * var * count / (count - 1));
      }
    }
  });
}

// One (sample, group) task's view: its channels' planes of c, BatchNorm's affine map and the max-pool window.
template <typename scalar_t>
struct PooledGroup {
  using T = acc_t<scalar_t>;
  const scalar_t* c;  // the sample's first channel
  const at::opmath_type<scalar_t>*mean, *invstd;
  const scalar_t *weight, *bias;
  MaxPool2dParams pool;
  int64_t h, w, out_h, out_w;

  T bn_scale(int64_t ch) const { return T(invstd[ch]) * (weight ? T(weight[ch]) : T(1)); }
  T bn_shift(int64_t ch) const { return (bias ? T(bias[ch]) : T(0)) - T(mean[ch]) * bn_scale(ch); }

  // max over the window of tanh(z), and where (offset in the plane): the first maximum in row-major order, NaN winning,
  // as in PyTorch's max_pool2d.
  std::pair<T, int64_t> pooled(int64_t ch, int64_t oh, int64_t ow) const {
    const scalar_t* plane = c + ch * h * w;
    const T a = bn_scale(ch), b = bn_shift(ch);
    T best = -std::numeric_limits<T>::infinity();
    int64_t where = (oh * pool.stride_h) * w + ow * pool.stride_w;
    for (int64_t r = 0; r < pool.kernel_h; ++r) {
      for (int64_t s = 0; s < pool.kernel_w; ++s) {
        const int64_t pos = (oh * pool.stride_h + r) * w + ow * pool.stride_w + s;
        const T t = std::tanh(a * T(plane[pos]) + b);
        if (t > best || std::isnan(t)) best = t, where = pos;
      }
    }
    return {best, where};
  }
};

template <typename scalar_t>
PooledGroup<scalar_t> pooled_group(const at::Tensor& c, const BatchNormParams& bn, const MaxPool2dParams& pool,
                                   int64_t out_h, int64_t out_w) {
  return {c.const_data_ptr<scalar_t>(),
          bn.mean.const_data_ptr<at::opmath_type<scalar_t>>(),
          bn.invstd.const_data_ptr<at::opmath_type<scalar_t>>(),
          data_or_null<scalar_t>(bn.weight),
          data_or_null<scalar_t>(bn.bias),
          pool,
          c.size(2),
          c.size(3),
          out_h,
          out_w};
}

// Mean and 1 / sqrt(var + eps) of the pooled values of channels [ch0, ch0 + cpg) of one sample: two exact passes.
template <typename scalar_t>
std::pair<acc_t<scalar_t>, acc_t<scalar_t>> group_stats(const PooledGroup<scalar_t>& p, int64_t ch0, int64_t cpg,
                                                        double eps) {
  using T = acc_t<scalar_t>;
  const T m = T(cpg * p.out_h * p.out_w);
  T sum = 0, squares = 0;
  for (int64_t ch = ch0; ch < ch0 + cpg; ++ch) {
    for (int64_t i = 0; i < p.out_h * p.out_w; ++i) sum += p.pooled(ch, i / p.out_w, i % p.out_w).first;
  }
  const T mu = sum / m;
  for (int64_t ch = ch0; ch < ch0 + cpg; ++ch) {
    for (int64_t i = 0; i < p.out_h * p.out_w; ++i) {
      const T d = p.pooled(ch, i / p.out_w, i % p.out_w).first - mu;
      squares += d * d;
    }
  }
  return {mu, T(1) / std::sqrt(squares / m + T(eps))};
}

template <typename scalar_t>
void forward_kernel(const at::Tensor& c, const BatchNormParams& bn, const MaxPool2dParams& pool, int64_t num_groups,
                    const at::Tensor& gamma, const at::Tensor& beta, double eps, at::Tensor& out) {
  using T = acc_t<scalar_t>;
  const int64_t batch = c.size(0), channels = c.size(1), cpg = channels / num_groups;
  const int64_t out_inner = out.size(2) * out.size(3);
  const scalar_t *g = data_or_null<scalar_t>(gamma), *b = data_or_null<scalar_t>(beta);
  scalar_t* o = out.mutable_data_ptr<scalar_t>();
  at::parallel_for(0, batch * num_groups, 1, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t n = task / num_groups, ch0 = task % num_groups * cpg;
      PooledGroup<scalar_t> p = pooled_group<scalar_t>(c, bn, pool, out.size(2), out.size(3));
      p.c += n * channels * p.h * p.w;
      const auto [mu, rstd] = group_stats(p, ch0, cpg, eps);
      for (int64_t ch = ch0; ch < ch0 + cpg; ++ch) {
        const T scale = rstd * (g ? T(g[ch]) : T(1)), shift = (b ? T(b[ch]) : T(0)) - mu * scale;
        scalar_t* row = o + (n * channels + ch) * out_inner;
        for (int64_t i = 0; i < out_inner; ++i)
          row[i] = scalar_t(p.pooled(ch, i / p.out_w, i % p.out_w).first * scale + shift);
      }
    }
  });
}

template <typename scalar_t>
void backward_kernel(const at::Tensor& grad_out, const at::Tensor& c, const BatchNormParams& bn,
                     const MaxPool2dParams& pool, int64_t num_groups, const at::Tensor& gamma, double eps,
                     at::Tensor& grad_z, at::Tensor& sums) {
  using T = acc_t<scalar_t>;
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t batch = c.size(0), channels = c.size(1), cpg = channels / num_groups;
  const int64_t out_h = grad_out.size(2), out_w = grad_out.size(3), out_inner = out_h * out_w;
  const int64_t plane = c.size(2) * c.size(3), nc = batch * channels;
  const scalar_t *g = data_or_null<scalar_t>(gamma), *dy = grad_out.const_data_ptr<scalar_t>();
  const scalar_t* cdata = c.const_data_ptr<scalar_t>();
  const opmath_t *mean = bn.mean.const_data_ptr<opmath_t>(), *invstd = bn.invstd.const_data_ptr<opmath_t>();
  scalar_t* gz = grad_z.mutable_data_ptr<scalar_t>();
  opmath_t* out_sums = sums.mutable_data_ptr<opmath_t>();
  at::parallel_for(0, batch * num_groups, 1, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t n = task / num_groups, ch0 = task % num_groups * cpg;
      PooledGroup<scalar_t> p = pooled_group<scalar_t>(c, bn, pool, out_h, out_w);
      p.c += n * channels * plane;
      const auto [mu, rstd] = group_stats(p, ch0, cpg, eps);
      // GroupNorm: per channel sum(dy) and sum(dy * phat); gamma-weighted, the group's terms of dL/dp.
      T sum_dyg = 0, sum_dyg_phat = 0;
      for (int64_t ch = ch0; ch < ch0 + cpg; ++ch) {
        const scalar_t* dy_row = dy + (n * channels + ch) * out_inner;
        T s_dy = 0, s_dy_phat = 0;
        for (int64_t i = 0; i < out_inner; ++i) {
          s_dy += T(dy_row[i]);
          s_dy_phat += T(dy_row[i]) * (p.pooled(ch, i / out_w, i % out_w).first - mu) * rstd;
        }
        const T gm = g ? T(g[ch]) : T(1);
        sum_dyg += gm * s_dy;
        sum_dyg_phat += gm * s_dy_phat;
        out_sums[2 * nc + n * channels + ch] = opmath_t(s_dy_phat);
        out_sums[3 * nc + n * channels + ch] = opmath_t(s_dy);
      }
      const T m = T(cpg * out_inner), m1 = sum_dyg / m, m2 = sum_dyg_phat / m;
      // dL/dp, through tanh at the window's maximum into grad_z; BatchNorm's per-channel sums.
      for (int64_t ch = ch0; ch < ch0 + cpg; ++ch) {
        const scalar_t* dy_row = dy + (n * channels + ch) * out_inner;
        const scalar_t* c_plane = cdata + (n * channels + ch) * plane;
        scalar_t* gz_plane = gz + (n * channels + ch) * plane;
        const T gm = g ? T(g[ch]) : T(1);
        T s_gz = 0, s_gz_xhat = 0;
        for (int64_t i = 0; i < out_inner; ++i) {
          const auto [t, where] = p.pooled(ch, i / out_w, i % out_w);
          const T dp = rstd * (T(dy_row[i]) * gm - m1 - (t - mu) * rstd * m2);
          const T dz = dp * (1 - t * t);
          gz_plane[where] = scalar_t(T(gz_plane[where]) + dz);  // windows may overlap
          s_gz += dz;
          s_gz_xhat += dz * (T(c_plane[where]) - T(mean[ch])) * T(invstd[ch]);
        }
        out_sums[n * channels + ch] = opmath_t(s_gz);
        out_sums[nc + n * channels + ch] = opmath_t(s_gz_xhat);
      }
    }
  });
}

template <typename scalar_t>
void batch_norm_input_grad_kernel(const at::Tensor& c, const BatchNormParams& bn, const at::Tensor& channel_sums,
                                  bool training, at::Tensor& grad) {
  using T = acc_t<scalar_t>;
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t batch = c.size(0), channels = c.size(1), inner = c.size(2) * c.size(3);
  const T count = T(batch * inner);
  const at::Tensor sums = channel_sums.contiguous();
  const opmath_t *s = sums.const_data_ptr<opmath_t>(), *mean = bn.mean.const_data_ptr<opmath_t>(),
                 *invstd = bn.invstd.const_data_ptr<opmath_t>();
  const scalar_t *w = data_or_null<scalar_t>(bn.weight), *cdata = c.const_data_ptr<scalar_t>();
  scalar_t* gdata = grad.mutable_data_ptr<scalar_t>();
  at::parallel_for(0, batch * channels, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t ch = row % channels;
      const T scale = T(invstd[ch]) * (w ? T(w[ch]) : T(1));
      // d/dc = scale * (grad_z - mean(grad_z) - xhat * mean(grad_z * xhat)) in training, scale * grad_z otherwise.
      const T m1 = training ? T(s[ch]) / count : T(0), m2 = training ? T(s[channels + ch]) / count : T(0);
      for (int64_t i = row * inner; i < (row + 1) * inner; ++i) {
        const T xhat = (T(cdata[i]) - T(mean[ch])) * T(invstd[ch]);
        gdata[i] = scalar_t(scale * (T(gdata[i]) - m1 - xhat * m2));
      }
    }
  });
}

// The CPU convolution makes no tile moments: the statistics always read c.
void batch_stats(const at::Tensor& c, const TileMoments&, double eps, double momentum, at::Tensor& running_mean,
                 at::Tensor& running_var, at::Tensor& mean, at::Tensor& invstd) {
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, c.scalar_type(), "fusedops batch_stats cpu", [&] {
    batch_stats_kernel<scalar_t>(c, eps, momentum, running_mean, running_var, mean, invstd);
  });
}

void forward(const at::Tensor& c, const BatchNormParams& bn, const MaxPool2dParams& pool, int64_t num_groups,
             const at::Tensor& gamma, const at::Tensor& beta, double eps, at::Tensor& out) {
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, c.scalar_type(), "fusedops bn_pool_group_norm cpu",
                                  [&] { forward_kernel<scalar_t>(c, bn, pool, num_groups, gamma, beta, eps, out); });
}

void backward(const at::Tensor& grad_out, const at::Tensor& c, const BatchNormParams& bn, const MaxPool2dParams& pool,
              int64_t num_groups, const at::Tensor& gamma, double eps, at::Tensor& grad_z, at::Tensor& sums) {
  AT_DISPATCH_FLOATING_TYPES_AND2(
      at::kHalf, at::kBFloat16, c.scalar_type(), "fusedops bn_pool_group_norm backward cpu",
      [&] { backward_kernel<scalar_t>(grad_out, c, bn, pool, num_groups, gamma, eps, grad_z, sums); });
}

void batch_norm_input_grad(const at::Tensor& c, const BatchNormParams& bn, const at::Tensor& channel_sums,
                           bool training, at::Tensor& grad) {
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, c.scalar_type(), "fusedops batch_norm_input_grad cpu",
                                  [&] { batch_norm_input_grad_kernel<scalar_t>(c, bn, channel_sums, training, grad); });
}

}  // namespace

const BnPoolGroupNormKernels bn_pool_group_norm_cpu_kernels{batch_stats, forward, backward, batch_norm_input_grad};

}  // namespace fusedops
