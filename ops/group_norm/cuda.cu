// The GroupNorm engine on CUDA (group_norm.h): one block per (sample, group). The forward reads the group once for its
// statistics (sums shifted by the group's first prelude value, so that E[a^2] - E[a]^2 does not cancel when the mean is
// large) and once more to write; the backward makes the same two passes. Per-channel sums (dgamma, dbeta, the prelude's
// parameter gradients) go to [N, C] buffers, reduced over N afterwards in a fixed order (deterministic).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/core/DeviceGuard.h>
#include <c10/cuda/CUDAException.h>

#include "ops/common/block_reduce.cuh"
#include "ops/common/tensors.h"
#include "ops/group_norm/group_norm.h"
#include "ops/group_norm/preludes.h"

namespace fusedops {
namespace {

constexpr int kThreads = 512;
constexpr int kUnroll = 4;  // loads in flight per thread

struct GroupArgs {
  int64_t channels, inner, groups;
  double eps;
};

template <typename T>
struct Stats {
  T mean, rstd;
};

template <typename scalar_t, typename P>
__device__ Stats<at::opmath_type<scalar_t>> group_stats(const P& p, const scalar_t* c, int64_t g, int64_t cpg,
                                                        const GroupArgs& a) {
  using T = at::opmath_type<scalar_t>;
  const T shift = p.forward(p.channel(g * cpg), static_cast<T>(c[0]));
  Sums<T, 2> s{{0, 0}};
  for (int64_t ch = 0; ch < cpg; ++ch) {
    const auto pc = p.channel(g * cpg + ch);
    const scalar_t* row = c + ch * a.inner;
    for_each_owned<kUnroll>(a.inner, [&](int64_t i) {
      const T d = p.forward(pc, static_cast<T>(row[i])) - shift;
      s.v[0] += d;
      s.v[1] += d * d;
    });
  }
  const Sums<T, 2> t = block_sum<kThreads>(s);
  const T m = T(cpg * a.inner), dmean = t.v[0] / m;
  const T var = max(t.v[1] / m - dmean * dmean, T(0));
  return {shift + dmean, T(1) / sqrt(var + T(a.eps))};
}

template <typename scalar_t, typename P>
__global__ void __launch_bounds__(kThreads)
    forward_kernel(const P p, const scalar_t* __restrict__ c, const scalar_t* __restrict__ gamma,
                   const scalar_t* __restrict__ beta, scalar_t* out, const GroupArgs a) {
  using T = at::opmath_type<scalar_t>;
  const int64_t g = blockIdx.x % a.groups, cpg = a.channels / a.groups;
  const int64_t offset = int64_t{blockIdx.x} * cpg * a.inner;
  const Stats<T> st = group_stats<scalar_t>(p, c + offset, g, cpg, a);
  for (int64_t ch = 0; ch < cpg; ++ch) {
    const int64_t chan = g * cpg + ch;
    const auto pc = p.channel(chan);
    const T scale = st.rstd * (gamma ? static_cast<T>(gamma[chan]) : T(1));
    const T shift = (beta ? static_cast<T>(beta[chan]) : T(0)) - st.mean * scale;
    const scalar_t* row = c + offset + ch * a.inner;
    scalar_t* out_row = out + offset + ch * a.inner;  // may be row itself: each element is read, then written
    for_each_owned<kUnroll>(a.inner, [&](int64_t i) {
      out_row[i] = static_cast<scalar_t>(p.forward(pc, static_cast<T>(row[i])) * scale + shift);
    });
  }
}

template <typename scalar_t, typename P>
__global__ void __launch_bounds__(kThreads)
    backward_kernel(const P p, const scalar_t* __restrict__ dy, const scalar_t* __restrict__ c,
                    const scalar_t* __restrict__ gamma, scalar_t* __restrict__ dc,
                    at::opmath_type<scalar_t>* __restrict__ dgamma, at::opmath_type<scalar_t>* __restrict__ dbeta,
                    at::opmath_type<scalar_t>* __restrict__ dparams, const GroupArgs a, int64_t batch) {
  using T = at::opmath_type<scalar_t>;
  const int64_t n = blockIdx.x / a.groups, g = blockIdx.x % a.groups, cpg = a.channels / a.groups;
  const int64_t offset = int64_t{blockIdx.x} * cpg * a.inner, nc = batch * a.channels;
  const Stats<T> st = group_stats<scalar_t>(p, c + offset, g, cpg, a);
  // Pass 1: sum(dy), sum(dy * xhat) per channel; with gamma, the group's sums for dL/da.
  T sum_dyg = 0, sum_dyg_xhat = 0;
  for (int64_t ch = 0; ch < cpg; ++ch) {
    const int64_t chan = g * cpg + ch;
    const auto pc = p.channel(chan);
    const int64_t row = offset + ch * a.inner;
    Sums<T, 2> s{{0, 0}};
    for_each_owned<kUnroll>(a.inner, [&](int64_t i) {
      const T d = static_cast<T>(dy[row + i]);
      s.v[0] += d;
      s.v[1] += d * (p.forward(pc, static_cast<T>(c[row + i])) - st.mean) * st.rstd;
    });
    const Sums<T, 2> t = block_sum<kThreads>(s);
    const T gm = gamma ? static_cast<T>(gamma[chan]) : T(1);
    sum_dyg += gm * t.v[0];
    sum_dyg_xhat += gm * t.v[1];
    if (threadIdx.x == 0) {
      dbeta[n * a.channels + chan] = t.v[0];
      dgamma[n * a.channels + chan] = t.v[1];
    }
  }
  if (dc == nullptr && P::kParams == 0) return;
  const T m = T(cpg * a.inner), m1 = sum_dyg / m, m2 = sum_dyg_xhat / m;
  // Pass 2: dL/da = rstd * (dy * gamma - m1 - xhat * m2), then through the prelude.
  for (int64_t ch = 0; ch < cpg; ++ch) {
    const int64_t chan = g * cpg + ch;
    const auto pc = p.channel(chan);
    const T gm = gamma ? static_cast<T>(gamma[chan]) : T(1);
    const int64_t row = offset + ch * a.inner;
    Sums<T, (P::kParams > 0 ? P::kParams : 1)> pg{};
    for_each_owned<kUnroll>(a.inner, [&](int64_t i) {
      const T cv = static_cast<T>(c[row + i]);
      const T xhat = (p.forward(pc, cv) - st.mean) * st.rstd;
      const T da = st.rstd * (static_cast<T>(dy[row + i]) * gm - m1 - xhat * m2);
      const T dcv = p.backward(pc, cv, da, pg.v);
      if (dc != nullptr) dc[row + i] = static_cast<scalar_t>(dcv);
    });
    if constexpr (P::kParams > 0) {
      const auto t = block_sum<kThreads>(pg);
      if (threadIdx.x == 0) {
        for (int k = 0; k < P::kParams; ++k) dparams[k * nc + n * a.channels + chan] = t.v[k];
      }
    }
  }
}

GroupArgs group_args(const at::Tensor& c, int64_t num_groups, double eps) {
  return {c.size(1), c.numel() / (c.size(0) * c.size(1)), num_groups, eps};
}

void forward(Prelude kind, const PreludeParams& params, const at::Tensor& c, int64_t num_groups,
             const at::Tensor& gamma, const at::Tensor& beta, double eps, at::Tensor& out) {
  const GroupArgs a = group_args(c, num_groups, eps);
  const unsigned blocks = unsigned(c.size(0) * num_groups);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, c.scalar_type(), "fusedops group_norm cuda", [&] {
    with_prelude<at::opmath_type<scalar_t>>(kind, params, [&](const auto& p) {
      forward_kernel<scalar_t><<<blocks, kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
          p, c.const_data_ptr<scalar_t>(), data_or_null<scalar_t>(gamma), data_or_null<scalar_t>(beta),
          out.mutable_data_ptr<scalar_t>(), a);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
}

void backward(Prelude kind, const PreludeParams& params, const at::Tensor& grad_out, const at::Tensor& c,
              int64_t num_groups, const at::Tensor& gamma, double eps, at::Tensor& dc, at::Tensor& dgamma,
              at::Tensor& dbeta, at::Tensor& dparams) {
  const GroupArgs a = group_args(c, num_groups, eps);
  const int64_t batch = c.size(0);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, c.scalar_type(), "fusedops group_norm backward cuda", [&] {
    using T = at::opmath_type<scalar_t>;
    with_prelude<T>(kind, params, [&](const auto& p) {
      backward_kernel<scalar_t><<<unsigned(batch * num_groups), kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
          p, grad_out.const_data_ptr<scalar_t>(), c.const_data_ptr<scalar_t>(), data_or_null<scalar_t>(gamma),
          dc.defined() ? dc.mutable_data_ptr<scalar_t>() : nullptr, dgamma.mutable_data_ptr<T>(),
          dbeta.mutable_data_ptr<T>(), dparams.mutable_data_ptr<T>(), a, batch);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
}

}  // namespace

const GroupNormKernels group_norm_cuda_kernels{forward, backward};

at::Tensor group_norm_cuda(const at::Tensor& input, int64_t num_groups, const std::optional<at::Tensor>& weight,
                           const std::optional<at::Tensor>& bias, double eps) {
  const c10::OptionalDeviceGuard guard(input.device());
  return group_norm_with(group_norm_cuda_kernels, input, num_groups, weight, bias, eps);
}

GroupNormBackwardResult group_norm_backward_cuda(FUSEDOPS_GROUP_NORM_BACKWARD_ARGS) {
  const c10::OptionalDeviceGuard guard(input.device());
  return group_norm_backward_with(group_norm_cuda_kernels, grad_output, input, num_groups, weight, eps, output_mask);
}

}  // namespace fusedops
