// The GroupNorm engine on the CPU (group_norm.h): parallel over (sample, group) tasks, each owning its slice of every
// output; sums accumulate in at::acc_type (float64 for float32).
#include <ATen/AccumulateType.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/common/tensors.h"
#include "ops/group_norm/group_norm.h"
#include "ops/group_norm/preludes.h"

namespace fusedops {
namespace {

struct Sizes {
  int64_t batch, channels, inner, groups;
  int64_t per_group() const { return channels / groups; }
  explicit Sizes(const at::Tensor& c, int64_t num_groups)
      : batch(c.size(0)),
        channels(c.size(1)),
        inner(c.numel() / std::max<int64_t>(1, c.size(0) * c.size(1))),
        groups(num_groups) {}
};

// Mean and 1 / sqrt(var + eps) of prelude(c) over one group: two passes (mean, then the centered squares), so the
// variance does not cancel when the mean is large.
template <typename acc_t>
struct GroupStats {
  acc_t mean, rstd;
};

template <typename scalar_t, typename P, typename acc_t = at::acc_type<scalar_t, false>>
GroupStats<acc_t> group_stats(const Sizes& s, const P& p, const scalar_t* c, int64_t g, double eps) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t cpg = s.per_group();
  const acc_t m = acc_t(cpg * s.inner);
  acc_t sum = 0, squares = 0;
  for (int64_t ch = 0; ch < cpg; ++ch) {
    const auto pc = p.channel(g * cpg + ch);
    for (int64_t i = 0; i < s.inner; ++i) sum += acc_t(p.forward(pc, static_cast<opmath_t>(c[ch * s.inner + i])));
  }
  const acc_t mean = sum / m;
  for (int64_t ch = 0; ch < cpg; ++ch) {
    const auto pc = p.channel(g * cpg + ch);
    for (int64_t i = 0; i < s.inner; ++i) {
      const acc_t d = acc_t(p.forward(pc, static_cast<opmath_t>(c[ch * s.inner + i]))) - mean;
      squares += d * d;
    }
  }
  return {mean, acc_t(1) / std::sqrt(squares / m + acc_t(eps))};
}

template <typename scalar_t, typename P>
void forward_kernel(const Sizes& s, const P& p, const scalar_t* c, const scalar_t* gamma, const scalar_t* beta,
                    double eps, scalar_t* out) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t cpg = s.per_group();
  at::parallel_for(0, s.batch * s.groups, 1, [&](int64_t begin, int64_t end) {
    for (int64_t ng = begin; ng < end; ++ng) {
      const int64_t g = ng % s.groups, offset = ng * cpg * s.inner;
      const auto st = group_stats<scalar_t, P>(s, p, c + offset, g, eps);
      for (int64_t ch = 0; ch < cpg; ++ch) {
        const int64_t chan = g * cpg + ch;
        const auto pc = p.channel(chan);
        const opmath_t scale = opmath_t(st.rstd) * (gamma ? static_cast<opmath_t>(gamma[chan]) : opmath_t(1));
        const opmath_t shift = (beta ? static_cast<opmath_t>(beta[chan]) : opmath_t(0)) - opmath_t(st.mean) * scale;
        const scalar_t* row = c + offset + ch * s.inner;
        scalar_t* out_row = out + offset + ch * s.inner;
        for (int64_t i = 0; i < s.inner; ++i) {
          out_row[i] = static_cast<scalar_t>(p.forward(pc, static_cast<opmath_t>(row[i])) * scale + shift);
        }
      }
    }
  });
}

// Per (sample, channel) partial sums go to [N, C] buffers, summed over N at the end.
template <typename scalar_t, typename P>
void backward_kernel(const Sizes& s, const P& p, const scalar_t* dy, const scalar_t* c, const scalar_t* gamma,
                     double eps, scalar_t* dc, at::opmath_type<scalar_t>* dgamma, at::opmath_type<scalar_t>* dbeta,
                     at::opmath_type<scalar_t>* dparams /* [kParams][N * C] */) {
  using opmath_t = at::opmath_type<scalar_t>;
  using acc_t = at::acc_type<scalar_t, false>;
  const int64_t cpg = s.per_group(), nc = s.batch * s.channels;
  at::parallel_for(0, s.batch * s.groups, 1, [&](int64_t begin, int64_t end) {
    for (int64_t ng = begin; ng < end; ++ng) {
      const int64_t n = ng / s.groups, g = ng % s.groups, offset = ng * cpg * s.inner;
      const auto st = group_stats<scalar_t, P>(s, p, c + offset, g, eps);
      // Pass 1: sum(dy * gamma), sum(dy * gamma * xhat) over the group; dgamma, dbeta per channel.
      acc_t sum_dyg = 0, sum_dyg_xhat = 0;
      for (int64_t ch = 0; ch < cpg; ++ch) {
        const int64_t chan = g * cpg + ch;
        const auto pc = p.channel(chan);
        const acc_t gm = gamma ? acc_t(gamma[chan]) : acc_t(1);
        acc_t sum_dy = 0, sum_dy_xhat = 0;
        for (int64_t i = 0; i < s.inner; ++i) {
          const acc_t d = acc_t(dy[offset + ch * s.inner + i]);
          const acc_t xhat =
              (acc_t(p.forward(pc, static_cast<opmath_t>(c[offset + ch * s.inner + i]))) - st.mean) * st.rstd;
          sum_dy += d;
          sum_dy_xhat += d * xhat;
        }
        sum_dyg += gm * sum_dy;
        sum_dyg_xhat += gm * sum_dy_xhat;
        dbeta[n * s.channels + chan] = opmath_t(sum_dy);
        dgamma[n * s.channels + chan] = opmath_t(sum_dy_xhat);
      }
      const acc_t m = acc_t(cpg * s.inner), m1 = sum_dyg / m, m2 = sum_dyg_xhat / m;
      if (dc == nullptr && P::kParams == 0) continue;
      // Pass 2: dL/da = rstd * (dy * gamma - m1 - xhat * m2), then through the prelude.
      for (int64_t ch = 0; ch < cpg; ++ch) {
        const int64_t chan = g * cpg + ch;
        const auto pc = p.channel(chan);
        const acc_t gm = gamma ? acc_t(gamma[chan]) : acc_t(1);
        opmath_t pgrads[P::kParams > 0 ? P::kParams : 1] = {};
        for (int64_t i = 0; i < s.inner; ++i) {
          const int64_t e = offset + ch * s.inner + i;
          const opmath_t cv = static_cast<opmath_t>(c[e]);
          const acc_t xhat = (acc_t(p.forward(pc, cv)) - st.mean) * st.rstd;
          const opmath_t da = opmath_t(st.rstd * (acc_t(dy[e]) * gm - m1 - xhat * m2));
          const opmath_t dcv = p.backward(pc, cv, da, pgrads);
          if (dc != nullptr) dc[e] = static_cast<scalar_t>(dcv);
        }
        for (int k = 0; k < P::kParams; ++k) dparams[k * nc + n * s.channels + chan] = pgrads[k];
      }
    }
  });
}

void forward(Prelude kind, const PreludeParams& params, const at::Tensor& c, int64_t num_groups,
             const at::Tensor& gamma, const at::Tensor& beta, double eps, at::Tensor& out) {
  const Sizes s(c, num_groups);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, c.scalar_type(), "fusedops group_norm cpu", [&] {
    with_prelude<at::opmath_type<scalar_t>>(kind, params, [&](const auto& p) {
      forward_kernel<scalar_t>(s, p, c.const_data_ptr<scalar_t>(), data_or_null<scalar_t>(gamma),
                               data_or_null<scalar_t>(beta), eps, out.mutable_data_ptr<scalar_t>());
    });
  });
}

void backward(Prelude kind, const PreludeParams& params, const at::Tensor& grad_out, const at::Tensor& c,
              int64_t num_groups, const at::Tensor& gamma, double eps, at::Tensor& dc, at::Tensor& dgamma,
              at::Tensor& dbeta, at::Tensor& dparams) {
  const Sizes s(c, num_groups);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, c.scalar_type(), "fusedops group_norm backward cpu", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    with_prelude<opmath_t>(kind, params, [&](const auto& p) {
      backward_kernel<scalar_t>(
          s, p, grad_out.const_data_ptr<scalar_t>(), c.const_data_ptr<scalar_t>(), data_or_null<scalar_t>(gamma), eps,
          dc.defined() ? dc.mutable_data_ptr<scalar_t>() : nullptr, dgamma.mutable_data_ptr<opmath_t>(),
          dbeta.mutable_data_ptr<opmath_t>(), dparams.mutable_data_ptr<opmath_t>());
    });
  });
}

}  // namespace

const GroupNormKernels group_norm_cpu_kernels{forward, backward};

at::Tensor group_norm_cpu(const at::Tensor& input, int64_t num_groups, const std::optional<at::Tensor>& weight,
                          const std::optional<at::Tensor>& bias, double eps) {
  return group_norm_with(group_norm_cpu_kernels, input, num_groups, weight, bias, eps);
}

GroupNormBackwardResult group_norm_backward_cpu(FUSEDOPS_GROUP_NORM_BACKWARD_ARGS) {
  return group_norm_backward_with(group_norm_cpu_kernels, grad_output, input, num_groups, weight, eps, output_mask);
}

}  // namespace fusedops
