// The L2_11 chain's kernels on CUDA (conv_bn_pool_group_norm.h) and its CUDA operator kernels.
//
// batch_stats: where the convolution's epilogue left per-tile moments (its float32 tensor-core path), a block per
// channel merges them (Chan et al.'s pairwise update, a fixed order: deterministic); otherwise a block per (channel,
// slice of the batch) sums the channel's values shifted by its first value (so that E[d^2] - E[d]^2 does not cancel)
// and a second kernel combines the slices in a fixed order. Both update the running statistics on the device (no host
// synchronization). forward / backward: a block per (sample, group) computes each pooled value from the convolution's
// output (BatchNorm's affine map, tanh, the window's maximum) in its statistics pass; the forward keeps them in shared
// memory for the write pass when the group's fit (else it computes them again, reading the group's planes mostly from
// L2), the backward recomputes them with the window's argmax in each pass. The backward scatters dL/dz to the window's
// maximum, with atomics only where windows overlap.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/core/DeviceGuard.h>
#include <c10/cuda/CUDAException.h>

#include <ATen/cuda/Atomic.cuh>
#include <climits>

#include "ops/common/block_reduce.cuh"
#include "ops/common/cuda_launch.cuh"
#include "ops/common/tensors.h"
#include "ops/conv2d/conv2d.h"
#include "ops/conv_bn_pool_group_norm/conv_bn_pool_group_norm.h"

namespace fusedops {
namespace {

constexpr int kThreads = 256;
constexpr int kUnroll = 4;

// ---- batch statistics ----

template <typename scalar_t, typename T = at::opmath_type<scalar_t>>
__global__ void __launch_bounds__(kThreads)
    channel_sums_kernel(const scalar_t* __restrict__ c, int64_t batch, int64_t channels, int64_t inner,
                        int64_t per_slice, T* __restrict__ partial) {
  const int64_t ch = blockIdx.x, slice = blockIdx.y;
  const T shift = static_cast<T>(c[ch * inner]);
  Sums<T, 2> s{{0, 0}};
  const int64_t n_end = min(batch, (slice + 1) * per_slice);
  for (int64_t n = slice * per_slice; n < n_end; ++n) {
    const scalar_t* row = c + (n * channels + ch) * inner;
    for_each_owned<kUnroll>(inner, [&](int64_t i) {
      const T d = static_cast<T>(row[i]) - shift;
      s.v[0] += d;
      s.v[1] += d * d;
    });
  }
  const Sums<T, 2> t = block_sum<kThreads>(s);
  if (threadIdx.x == 0) {
    partial[(slice * channels + ch) * 2] = t.v[0];
    partial[(slice * channels + ch) * 2 + 1] = t.v[1];
  }
}

// The channel's batch statistics from its mean and biased variance over `count` values: mean, invstd, and the running
// statistics' update.
template <typename scalar_t, typename T>
__device__ void finish_channel(int64_t ch, T mu, T var, T count, double eps, double momentum, scalar_t* running_mean,
                               int64_t rm_stride, scalar_t* running_var, int64_t rv_stride, T* mean, T* invstd) {
  mean[ch] = mu;
  invstd[ch] = T(1) / sqrt(var + T(eps));
  if (running_mean != nullptr) {
    const T m = T(momentum);
    scalar_t& rm = running_mean[ch * rm_stride];
    scalar_t& rv = running_var[ch * rv_stride];
    rm = static_cast<scalar_t>((1 - m) * static_cast<T>(rm) + m * mu);
    rv = static_cast<scalar_t>((1 - m) * static_cast<T>(rv) + m * var * count / (count - 1));
  }
}

// Count, mean and sum of squared deviations of a set of values.
struct Moments {
  float count, mean, m2;
};

// The moments of the union of two disjoint sets (Chan, Golub and LeVeque).
__device__ Moments merge(const Moments& a, const Moments& b) {
  const float count = a.count + b.count;
  if (count == 0) return a;
  const float delta = b.mean - a.mean, share = b.count / count;
  return {count, a.mean + delta * share, a.m2 + b.m2 + delta * delta * a.count * share};
}

// A block per channel: the TileMoments of a float32 convolution output merged into the channel's batch statistics.
__global__ void __launch_bounds__(kThreads)
    merge_tile_moments_kernel(const float2* __restrict__ moments, int64_t tiles, int64_t tiles_per_image,
                              int64_t tile_pixels, int64_t plane, int64_t channels, double eps, double momentum,
                              float* running_mean, int64_t rm_stride, float* running_var, int64_t rv_stride,
                              float* __restrict__ mean, float* __restrict__ invstd) {
  const int64_t ch = blockIdx.x;
  Moments acc{0, 0, 0};
  for (int64_t t = threadIdx.x; t < tiles; t += kThreads) {
    const float2 m = moments[t * channels + ch];
    acc = merge(acc, {static_cast<float>(min(tile_pixels, plane - t % tiles_per_image * tile_pixels)), m.x, m.y});
  }
  using Reduce = cub::BlockReduce<Moments, kThreads>;
  __shared__ typename Reduce::TempStorage temp;
  const Moments total = Reduce(temp).Reduce(acc, [](const Moments& a, const Moments& b) { return merge(a, b); });
  if (threadIdx.x == 0) {
    finish_channel(ch, total.mean, total.m2 / total.count, total.count, eps, momentum, running_mean, rm_stride,
                   running_var, rv_stride, mean, invstd);
  }
}

template <typename scalar_t, typename T = at::opmath_type<scalar_t>>
__global__ void batch_stats_finalize_kernel(const scalar_t* __restrict__ c, const T* __restrict__ partial,
                                            int64_t slices, int64_t channels, int64_t inner, T count, double eps,
                                            double momentum, scalar_t* running_mean, int64_t rm_stride,
                                            scalar_t* running_var, int64_t rv_stride, T* __restrict__ mean,
                                            T* __restrict__ invstd) {
  const int64_t ch = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (ch >= channels) return;
  T s0 = 0, s1 = 0;
  for (int64_t k = 0; k < slices; ++k) {
    s0 += partial[(k * channels + ch) * 2];
    s1 += partial[(k * channels + ch) * 2 + 1];
  }
  const T dmean = s0 / count, var = max(s1 / count - dmean * dmean, T(0));
  finish_channel(ch, static_cast<T>(c[ch * inner]) + dmean, var, count, eps, momentum, running_mean, rm_stride,
                 running_var, rv_stride, mean, invstd);
}

// ---- BatchNorm -> tanh -> max-pool -> GroupNorm, a block per (sample, group) ----

template <typename scalar_t>
struct PoolArgs {
  using T = at::opmath_type<scalar_t>;
  const scalar_t* c;
  const T *mean, *invstd;
  const scalar_t *weight, *bias;
  int64_t channels, groups;
  int h, w, out_h, out_w, kernel_h, kernel_w, stride_h, stride_w;
  double eps;

  __device__ T bn_scale(int64_t ch) const { return invstd[ch] * (weight ? static_cast<T>(weight[ch]) : T(1)); }
  __device__ T bn_shift(int64_t ch, T scale) const {
    return (bias ? static_cast<T>(bias[ch]) : T(0)) - mean[ch] * scale;
  }

  // The pooled value i of a plane: max over the window of tanh(a * c + b), and its offset in the plane (the first
  // maximum in row-major order, NaN winning, as in PyTorch's max_pool2d).
  __device__ T pooled(const scalar_t* plane, T a, T b, int i, int& where) const {
    const int oh = i / out_w, ow = i - oh * out_w;
    const int first = oh * stride_h * w + ow * stride_w;
    T best = -INFINITY;
    where = first;
    for (int r = 0; r < kernel_h; ++r) {
      for (int s = 0; s < kernel_w; ++s) {
        const int pos = first + r * w + s;
        const T t = tanh(a * static_cast<T>(plane[pos]) + b);
        if (t > best || isnan(t)) best = t, where = pos;
      }
    }
    return best;
  }

  // The same value for the forward, which needs no position: tanh is increasing, so the window's maximum is tanh of
  // its largest a * c + b (NaN winning): one tanh per window instead of one per element.
  __device__ T pooled_value(const scalar_t* plane, T a, T b, int i) const {
    const int oh = i / out_w, ow = i - oh * out_w;
    const int first = oh * stride_h * w + ow * stride_w;
    T best = -INFINITY;
    for (int r = 0; r < kernel_h; ++r) {
      for (int s = 0; s < kernel_w; ++s) {
        const T z = a * static_cast<T>(plane[first + r * w + s]) + b;
        if (z > best || isnan(z)) best = z;
      }
    }
    return tanh(best);
  }
};

template <typename T>
struct Stats {
  T mean, rstd;
};

// Pooled value e of a group (channels [ch0, ch0 + cpg) of sample n, flattened: channel ch0 + e / out_inner): one
// index space for the whole group keeps every thread busy with several loads in flight however small the planes.
template <typename scalar_t, typename T = at::opmath_type<scalar_t>>
__device__ T pooled_in_group(const PoolArgs<scalar_t>& p, int64_t n, int64_t ch0, int e) {
  const int out_inner = p.out_h * p.out_w, local = e / out_inner;
  const int64_t ch = ch0 + local;
  const T a = p.bn_scale(ch), b = p.bn_shift(ch, a);
  return p.pooled_value(p.c + (n * p.channels + ch) * int64_t{p.h} * p.w, a, b, e - local * out_inner);
}

// GroupNorm's statistics of a group's pooled values, value(e) for e in [0, group_size); `keep(e, v)` sees each.
template <typename T, typename Value, typename Keep>
__device__ Stats<T> pooled_group_stats(int64_t group_size, double eps, Value&& value, Keep&& keep) {
  const T shift = value(0);
  Sums<T, 2> s{{0, 0}};
  for_each_owned<kUnroll>(group_size, [&](int64_t e) {
    const T v = value(int(e));
    keep(int(e), v);
    const T d = v - shift;
    s.v[0] += d;
    s.v[1] += d * d;
  });
  const Sums<T, 2> t = block_sum<kThreads>(s);  // its barriers also publish what keep() stored
  const T m = T(group_size), dmean = t.v[0] / m;
  const T var = max(t.v[1] / m - dmean * dmean, T(0));
  return {shift + dmean, T(1) / sqrt(var + T(eps))};
}

// kCached: the group's pooled values are kept in shared memory (cpg * out_h * out_w values of T) between the
// statistics and the write pass, so the convolution's output is read once.
template <typename scalar_t, bool kCached>
__global__ void __launch_bounds__(kThreads)
    forward_kernel(const PoolArgs<scalar_t> p, const scalar_t* __restrict__ gamma, const scalar_t* __restrict__ beta,
                   scalar_t* __restrict__ out) {
  using T = at::opmath_type<scalar_t>;
  extern __shared__ __align__(16) unsigned char cache_bytes[];
  T* cache = reinterpret_cast<T*>(cache_bytes);
  const int64_t n = blockIdx.x / p.groups, cpg = p.channels / p.groups, ch0 = blockIdx.x % p.groups * cpg;
  const int out_inner = p.out_h * p.out_w;
  auto value = [&](int e) { return pooled_in_group(p, n, ch0, e); };
  const Stats<T> st = pooled_group_stats<T>(cpg * out_inner, p.eps, value, [&](int e, T v) {
    if (kCached) cache[e] = v;
  });
  scalar_t* out_group = out + (n * p.channels + ch0) * out_inner;  // the group's outputs are contiguous
  for_each_owned<kUnroll>(cpg * out_inner, [&](int64_t e) {
    const int64_t ch = ch0 + e / out_inner;
    const T scale = st.rstd * (gamma ? static_cast<T>(gamma[ch]) : T(1));
    const T shift = (beta ? static_cast<T>(beta[ch]) : T(0)) - st.mean * scale;
    out_group[e] = static_cast<scalar_t>((kCached ? cache[e] : value(int(e))) * scale + shift);
  });
}

template <typename scalar_t>
__global__ void __launch_bounds__(kThreads)
    backward_kernel(const PoolArgs<scalar_t> p, const scalar_t* __restrict__ dy, const scalar_t* __restrict__ gamma,
                    bool overlapping, scalar_t* __restrict__ grad_z, at::opmath_type<scalar_t>* __restrict__ sums,
                    int64_t batch) {
  using T = at::opmath_type<scalar_t>;
  const int64_t n = blockIdx.x / p.groups, cpg = p.channels / p.groups, ch0 = blockIdx.x % p.groups * cpg;
  const int64_t plane_size = int64_t{p.h} * p.w, out_inner = int64_t{p.out_h} * p.out_w, nc = batch * p.channels;
  const Stats<T> st = pooled_group_stats<T>(
      cpg * out_inner, p.eps, [&](int e) { return pooled_in_group(p, n, ch0, e); }, [](int, T) {});
  // GroupNorm: per channel sum(dy) and sum(dy * phat); gamma-weighted, the group's terms of dL/dp.
  T sum_dyg = 0, sum_dyg_phat = 0;
  for (int64_t ch = ch0; ch < ch0 + cpg; ++ch) {
    const scalar_t* plane = p.c + (n * p.channels + ch) * plane_size;
    const scalar_t* dy_row = dy + (n * p.channels + ch) * out_inner;
    const T a = p.bn_scale(ch), b = p.bn_shift(ch, a);
    Sums<T, 2> s{{0, 0}};
    for_each_owned<kUnroll>(out_inner, [&](int64_t i) {
      int pos;
      const T d = static_cast<T>(dy_row[i]);
      s.v[0] += d;
      s.v[1] += d * (p.pooled(plane, a, b, int(i), pos) - st.mean) * st.rstd;
    });
    const Sums<T, 2> t = block_sum<kThreads>(s);
    const T gm = gamma ? static_cast<T>(gamma[ch]) : T(1);
    sum_dyg += gm * t.v[0];
    sum_dyg_phat += gm * t.v[1];
    if (threadIdx.x == 0) {
      sums[2 * nc + n * p.channels + ch] = t.v[1];
      sums[3 * nc + n * p.channels + ch] = t.v[0];
    }
  }
  const T m = T(cpg * out_inner), m1 = sum_dyg / m, m2 = sum_dyg_phat / m;
  // dL/dp through tanh at the window's maximum into grad_z, and BatchNorm's per-channel sums.
  for (int64_t ch = ch0; ch < ch0 + cpg; ++ch) {
    const scalar_t* plane = p.c + (n * p.channels + ch) * plane_size;
    const scalar_t* dy_row = dy + (n * p.channels + ch) * out_inner;
    scalar_t* gz_plane = grad_z + (n * p.channels + ch) * plane_size;
    const T a = p.bn_scale(ch), b = p.bn_shift(ch, a), gm = gamma ? static_cast<T>(gamma[ch]) : T(1);
    const T mean = p.mean[ch], invstd = p.invstd[ch];
    Sums<T, 2> s{{0, 0}};
    for_each_owned<kUnroll>(out_inner, [&](int64_t i) {
      int pos;
      const T t = p.pooled(plane, a, b, int(i), pos);
      const T dp = st.rstd * (static_cast<T>(dy_row[i]) * gm - m1 - (t - st.mean) * st.rstd * m2);
      const T dz = dp * (1 - t * t);
      if (overlapping) {
        gpuAtomicAdd(gz_plane + pos, static_cast<scalar_t>(dz));
      } else {
        gz_plane[pos] = static_cast<scalar_t>(dz);
      }
      s.v[0] += dz;
      s.v[1] += dz * (static_cast<T>(plane[pos]) - mean) * invstd;
    });
    const Sums<T, 2> t = block_sum<kThreads>(s);
    if (threadIdx.x == 0) {
      sums[n * p.channels + ch] = t.v[0];
      sums[nc + n * p.channels + ch] = t.v[1];
    }
  }
}

template <typename scalar_t, typename T = at::opmath_type<scalar_t>>
__global__ void __launch_bounds__(kThreads)
    batch_norm_input_grad_kernel(const scalar_t* __restrict__ c, const T* __restrict__ mean,
                                 const T* __restrict__ invstd, const scalar_t* __restrict__ weight,
                                 const T* __restrict__ channel_sums, bool training, int64_t rows, int64_t channels,
                                 int64_t inner, T count, scalar_t* __restrict__ grad) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t ch = row % channels;
    const T scale = invstd[ch] * (weight ? static_cast<T>(weight[ch]) : T(1));
    // d/dc = scale * (grad_z - mean(grad_z) - xhat * mean(grad_z * xhat)) in training, scale * grad_z otherwise.
    const T m1 = training ? channel_sums[ch] / count : T(0);
    const T m2 = training ? channel_sums[channels + ch] / count : T(0);
    const scalar_t* c_row = c + row * inner;
    scalar_t* g_row = grad + row * inner;
    for_each_owned<kUnroll>(inner, [&](int64_t i) {
      const T xhat = (static_cast<T>(c_row[i]) - mean[ch]) * invstd[ch];
      g_row[i] = static_cast<scalar_t>(scale * (static_cast<T>(g_row[i]) - m1 - xhat * m2));
    });
  }
}

void batch_stats(const at::Tensor& c, const TileMoments& moments, double eps, double momentum, at::Tensor& running_mean,
                 at::Tensor& running_var, at::Tensor& mean, at::Tensor& invstd) {
  const int64_t batch = c.size(0), channels = c.size(1), inner = c.size(2) * c.size(3);
  const bool running = running_mean.defined();
  if (moments.moments.defined()) {  // float32 (the tensor-core path's), so are mean, invstd and the running buffers
    merge_tile_moments_kernel<<<unsigned(channels), kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
        reinterpret_cast<const float2*>(moments.moments.const_data_ptr<float>()), moments.moments.size(0),
        moments.tiles_per_image, moments.tile_pixels, inner, channels, eps, momentum,
        running ? running_mean.mutable_data_ptr<float>() : nullptr, running ? running_mean.stride(0) : 0,
        running ? running_var.mutable_data_ptr<float>() : nullptr, running ? running_var.stride(0) : 0,
        mean.mutable_data_ptr<float>(), invstd.mutable_data_ptr<float>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return;
  }
  // Enough (channel, slice) blocks to fill every SM's block slots twice.
  const int64_t wanted = 16 * int64_t{at::cuda::getCurrentDeviceProperties()->multiProcessorCount};
  const int64_t slices = std::min<int64_t>(batch, std::max<int64_t>(1, (wanted + channels - 1) / channels));
  const int64_t per_slice = (batch + slices - 1) / slices;
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  TORCH_CHECK(channels <= INT_MAX, "fusedops: too many channels for the batch statistics kernel");
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, c.scalar_type(), "fusedops batch_stats cuda", [&] {
    using T = at::opmath_type<scalar_t>;
    const at::Tensor partial = at::empty({slices, channels, 2}, mean.options());
    channel_sums_kernel<scalar_t>
        <<<dim3(unsigned(channels), unsigned((batch + per_slice - 1) / per_slice)), kThreads, 0, stream>>>(
            c.const_data_ptr<scalar_t>(), batch, channels, inner, per_slice, partial.mutable_data_ptr<T>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    batch_stats_finalize_kernel<scalar_t><<<unsigned((channels + 127) / 128), 128, 0, stream>>>(
        c.const_data_ptr<scalar_t>(), partial.const_data_ptr<T>(), (batch + per_slice - 1) / per_slice, channels, inner,
        T(batch * inner), eps, momentum, running ? running_mean.mutable_data_ptr<scalar_t>() : nullptr,
        running ? running_mean.stride(0) : 0, running ? running_var.mutable_data_ptr<scalar_t>() : nullptr,
        running ? running_var.stride(0) : 0, mean.mutable_data_ptr<T>(), invstd.mutable_data_ptr<T>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}

template <typename scalar_t>
PoolArgs<scalar_t> pool_args(const at::Tensor& c, const BatchNormParams& bn, const MaxPool2dParams& pool,
                             int64_t num_groups, double eps, int64_t out_h, int64_t out_w) {
  TORCH_CHECK(c.size(2) * c.size(3) <= INT_MAX && c.size(1) / num_groups * out_h * out_w <= INT_MAX,
              "fusedops: the convolution's output planes or the GroupNorm groups are too large (over 2^31 values)");
  using T = at::opmath_type<scalar_t>;
  return {c.const_data_ptr<scalar_t>(),
          bn.mean.const_data_ptr<T>(),
          bn.invstd.const_data_ptr<T>(),
          data_or_null<scalar_t>(bn.weight),
          data_or_null<scalar_t>(bn.bias),
          c.size(1),
          num_groups,
          int(c.size(2)),
          int(c.size(3)),
          int(out_h),
          int(out_w),
          int(pool.kernel_h),
          int(pool.kernel_w),
          int(pool.stride_h),
          int(pool.stride_w),
          eps};
}

void forward(const at::Tensor& c, const BatchNormParams& bn, const MaxPool2dParams& pool, int64_t num_groups,
             const at::Tensor& gamma, const at::Tensor& beta, double eps, at::Tensor& out) {
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, c.scalar_type(), "fusedops bn_pool_group_norm cuda", [&] {
    const auto p = pool_args<scalar_t>(c, bn, pool, num_groups, eps, out.size(2), out.size(3));
    // The cache takes at most what is left of the 48 KB a block gets without opting in (a quarter of an SM's shared
    // memory) next to the kernel's static shared memory (the block reduction's).
    const int64_t cache_bytes = c.size(1) / num_groups * out.size(2) * out.size(3) * sizeof(at::opmath_type<scalar_t>);
    cudaFuncAttributes cached_kernel{};
    C10_CUDA_CHECK(cudaFuncGetAttributes(&cached_kernel, forward_kernel<scalar_t, true>));
    const bool cached = cache_bytes + static_cast<int64_t>(cached_kernel.sharedSizeBytes) <= 48 * 1024;
    auto* kernel = cached ? forward_kernel<scalar_t, true> : forward_kernel<scalar_t, false>;
    kernel<<<unsigned(c.size(0) * num_groups), kThreads, cached ? size_t(cache_bytes) : 0,
             at::cuda::getCurrentCUDAStream()>>>(p, data_or_null<scalar_t>(gamma), data_or_null<scalar_t>(beta),
                                                 out.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}

void backward(const at::Tensor& grad_out, const at::Tensor& c, const BatchNormParams& bn, const MaxPool2dParams& pool,
              int64_t num_groups, const at::Tensor& gamma, double eps, at::Tensor& grad_z, at::Tensor& sums) {
  AT_DISPATCH_FLOATING_TYPES_AND2(
      at::kHalf, at::kBFloat16, c.scalar_type(), "fusedops bn_pool_group_norm backward cuda", [&] {
        const auto p = pool_args<scalar_t>(c, bn, pool, num_groups, eps, grad_out.size(2), grad_out.size(3));
        backward_kernel<scalar_t><<<unsigned(c.size(0) * num_groups), kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
            p, grad_out.const_data_ptr<scalar_t>(), data_or_null<scalar_t>(gamma), pool.overlapping(),
            grad_z.mutable_data_ptr<scalar_t>(), sums.mutable_data_ptr<at::opmath_type<scalar_t>>(), c.size(0));
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      });
}

void batch_norm_input_grad(const at::Tensor& c, const BatchNormParams& bn, const at::Tensor& channel_sums,
                           bool training, at::Tensor& grad) {
  const int64_t rows = c.size(0) * c.size(1), inner = c.size(2) * c.size(3);
  const at::Tensor sums = channel_sums.contiguous();
  AT_DISPATCH_FLOATING_TYPES_AND2(
      at::kHalf, at::kBFloat16, c.scalar_type(), "fusedops batch_norm_input_grad cuda", [&] {
        using T = at::opmath_type<scalar_t>;
        batch_norm_input_grad_kernel<scalar_t>
            <<<grid_stride_blocks(rows * kThreads, kThreads, 16), kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
                c.const_data_ptr<scalar_t>(), bn.mean.const_data_ptr<T>(), bn.invstd.const_data_ptr<T>(),
                data_or_null<scalar_t>(bn.weight), sums.const_data_ptr<T>(), training, rows, c.size(1), inner,
                T(c.size(0) * inner), grad.mutable_data_ptr<scalar_t>());
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      });
}

}  // namespace

const BnPoolGroupNormKernels bn_pool_group_norm_cuda_kernels{batch_stats, forward, backward, batch_norm_input_grad};

// Under a generic device guard: an input left on the CPU must reach the argument checks (a clear error).
at::Tensor conv_transpose2d_batch_norm_tanh_max_pool_group_norm_cuda(FUSEDOPS_L2_11_ARGS) {
  const c10::OptionalDeviceGuard guard(input.device());
  return std::get<0>(conv_transpose2d_batch_norm_tanh_max_pool_group_norm_with(
      conv2d_cuda_kernels, bn_pool_group_norm_cuda_kernels, false, input, weight, bias, bn_weight, bn_bias,
      running_mean, running_var, training, momentum, bn_eps, pool_kernel, pool_stride, num_groups, gn_weight, gn_bias,
      gn_eps, stride, padding, output_padding, groups, dilation));
}

L2_11Forward conv_transpose2d_batch_norm_tanh_max_pool_group_norm_forward_cuda(FUSEDOPS_L2_11_ARGS) {
  const c10::OptionalDeviceGuard guard(input.device());
  return conv_transpose2d_batch_norm_tanh_max_pool_group_norm_with(
      conv2d_cuda_kernels, bn_pool_group_norm_cuda_kernels, true, input, weight, bias, bn_weight, bn_bias, running_mean,
      running_var, training, momentum, bn_eps, pool_kernel, pool_stride, num_groups, gn_weight, gn_bias, gn_eps, stride,
      padding, output_padding, groups, dilation);
}

L2_11Grads conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward_cuda(FUSEDOPS_L2_11_BACKWARD_ARGS) {
  const c10::OptionalDeviceGuard guard(input.device());
  return conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward_with(
      conv2d_cuda_kernels, bn_pool_group_norm_cuda_kernels, grad_output, input, weight, conv_output, bn_mean, bn_invstd,
      bn_weight, bn_bias, training, pool_kernel, pool_stride, num_groups, gn_weight, gn_bias, gn_eps, stride, padding,
      output_padding, groups, dilation, conv_output_mask);
}

}  // namespace fusedops
