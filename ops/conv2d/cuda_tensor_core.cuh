// The tensor-core path of the CUDA convolution kernels (forward and transposed at unit stride, weight gradient), kept in
// its own translation units: the general engine (cuda_tensor_core.cu), on Hopper the single-row one
// (cuda_wgmma_row.cu), and the weight gradient (cuda_weight_grad.cu).
#pragma once

#include <ATen/ATen.h>

#include "ops/conv2d/conv2d.h"

namespace fusedops {

// Float32 `forward` (!transposed: dst = y from src = x) or `transposed` (dst = x from src = y) of the Conv2dKernels
// table on tensor cores: TF32 mma.sync or wgmma, or 3xTF32 for full float32 accuracy. Returns false, writing nothing,
// when this GPU or this call (a stride other than 1, sizes) is outside what the kernels cover. `moments`, when given,
// receives dst's tile moments.
bool conv2d_tensor_core(const Conv2dGeometry& g, bool transposed, const at::Tensor& src, const at::Tensor& w,
                        const at::Tensor& bias, at::Tensor& dst, bool full_fp32, TileMoments* moments = nullptr);

// Float32 `weight_grad` of the Conv2dKernels table on tensor cores (cuda_weight_grad.cu): TF32 mma.sync, or 3xTF32 for
// full float32 accuracy. Returns false, writing nothing, when this GPU or these sizes are outside what it covers.
bool conv2d_weight_grad_tensor_core(const Conv2dGeometry& g, const at::Tensor& x, const at::Tensor& gy, at::Tensor& gw,
                                    bool full_fp32);

// gw = the sum over slices of `partial` (slices, gw.numel()) in at::opmath_type of gw's dtype, slice by slice in order:
// the deterministic second pass of the split weight-gradient reductions.
void sum_weight_grad_slices(const at::Tensor& partial, at::Tensor& gw);

// Whether the library's compute capability 9.0 code is sm_90a's, which has wgmma (FUSEDOPS_HAS_SM90A from CMake).
#ifdef FUSEDOPS_HAS_SM90A
constexpr bool kBuiltForSm90a = true;
#else
constexpr bool kBuiltForSm90a = false;
#endif

// Where W'[d, r, tap] is in the (out_channels, in_channels / groups, kH, kW) weight: group * w_group + d * w_dst +
// r * w_red + tap, the tap reversed when `flip` (the transposed convolution).
struct WeightLayout {
  int64_t w_group, w_dst, w_red;
  bool flip;
};

// The weights packed for the tensor-core kernels (pack_weights_kernel in cuda_tensor_core.cu has the layout): tiles
// of `tile_n` dst channels, rounded to TF32 (hi), and the rounding error (lo) when `split` (3xTF32).
struct PackedWeights {
  at::Tensor hi, lo;
};
PackedWeights pack_tensor_core_weights(const at::Tensor& w, const WeightLayout& layout, int64_t groups, int64_t taps,
                                       int64_t red_per_group, int64_t dst_per_group, int tile_n, bool k_major,
                                       bool split);

// The correlation of conv2d_tensor_core when it is a single row (src_h = dst_h = kernel_h = 1: conv1d and
// conv_transpose1d as (N, C, 1, L) views): dst[n, d, t] = bias[d] + sum over (r, b) of W'[d, r, b] *
// src[n, r, t + b * dil - pad], per group, zero outside src.
struct RowCorrelation {
  int64_t batch, groups, src_channels, src_len, dst_channels, dst_len, red_per_group, dst_per_group, taps, dil, pad;
  WeightLayout layout;
};

// Runs it with both wgmma operands in shared memory (Hopper, sm_90a builds). Returns false, writing nothing, when this
// GPU, the build or these sizes are outside what the kernel covers.
bool row_correlation_wgmma(const RowCorrelation& c, const at::Tensor& src, const at::Tensor& w, const at::Tensor& bias,
                           at::Tensor& dst, bool full_fp32);

}  // namespace fusedops
