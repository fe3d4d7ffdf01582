// fusedops::conv_transpose1d on CUDA. The forward takes a tensor-core implicit GEMM for float32 where one applies: at
// unit stride the 2D engine (ops/conv2d/cuda_tensor_core.cu) on (N, C, 1, L) views, which is faster there than this
// operator's own kernel (bench/NOTES.md), else the 1D kernel's stride phases (cuda_tensor_core.cu); everything else
// (float64, half types, older GPUs, sizes the fast path does not cover) runs the direct kernels here: one thread per
// output element, accumulating in at::opmath_type. All launches go to the current stream of the inputs' device; scratch
// memory comes from PyTorch's caching allocator.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/core/DeviceGuard.h>

#include <cub/block/block_reduce.cuh>

#include "ops/common/cuda_launch.cuh"
#include "ops/common/tensors.h"
#include "ops/conv2d/cuda_tensor_core.cuh"
#include "ops/conv_transpose1d/conv_transpose1d.h"
#include "ops/conv_transpose1d/cuda_tensor_core.cuh"

namespace fusedops {
namespace {

using Shape = ConvTranspose1dShape;
constexpr int kThreads = 256;

template <typename scalar_t>
__global__ void forward_direct_kernel(const scalar_t* __restrict__ x, const scalar_t* __restrict__ w,
                                      const scalar_t* __restrict__ bias, scalar_t* __restrict__ out, const Shape s) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t total = s.batch * s.out_channels * s.out_length;
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t t = i % s.out_length, row = i / s.out_length;
    const int64_t co = row % s.out_channels, n = row / s.out_channels;
    const int64_t g = co / s.out_per_group, j = co % s.out_per_group;
    opmath_t acc = bias != nullptr ? static_cast<opmath_t>(bias[co]) : opmath_t(0);
    for (int64_t k = 0; k < s.kernel; ++k) {
      const int64_t num = t + s.p.padding - k * s.p.dilation;
      if (num < 0 || num % s.p.stride != 0) continue;
      const int64_t l = num / s.p.stride;
      if (l >= s.length) continue;
      for (int64_t ci = g * s.in_per_group; ci < (g + 1) * s.in_per_group; ++ci) {
        acc += static_cast<opmath_t>(x[(n * s.in_channels + ci) * s.length + l]) *
               static_cast<opmath_t>(w[(ci * s.out_per_group + j) * s.kernel + k]);
      }
    }
    out[i] = static_cast<scalar_t>(acc);
  }
}

// grad_input is a plain (strided, dilated) convolution of grad_output with the same weight.
template <typename scalar_t>
__global__ void grad_input_kernel(const scalar_t* __restrict__ go, const scalar_t* __restrict__ w,
                                  scalar_t* __restrict__ gi, const Shape s) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t total = s.batch * s.in_channels * s.length;
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t l = i % s.length, row = i / s.length;
    const int64_t ci = row % s.in_channels, n = row / s.in_channels;
    const int64_t g = ci / s.in_per_group;
    const scalar_t* go_group = go + (n * s.out_channels + g * s.out_per_group) * s.out_length;
    opmath_t acc = 0;
    for (int64_t k = 0; k < s.kernel; ++k) {
      const int64_t t = l * s.p.stride - s.p.padding + k * s.p.dilation;
      if (t < 0 || t >= s.out_length) continue;
      for (int64_t j = 0; j < s.out_per_group; ++j) {
        acc += static_cast<opmath_t>(go_group[j * s.out_length + t]) *
               static_cast<opmath_t>(w[(ci * s.out_per_group + j) * s.kernel + k]);
      }
    }
    gi[i] = static_cast<scalar_t>(acc);
  }
}

// grad_weight[ci, j, k] = sum over (n, l) of x[n, ci, l] * grad_output[n, co, l * stride - padding + k * dilation]:
// per tap a GEMM whose reduction runs over N * L. A block computes a 32 x 32 (ci, j) tile of one tap over
// one slice of that reduction and writes it to `partial[slice]`; grad_weight_sum_kernel adds the slices
// in a fixed order, so the result is deterministic.
constexpr int kWTile = 32;
template <typename scalar_t>
__global__ void grad_weight_partial_kernel(const scalar_t* __restrict__ x, const scalar_t* __restrict__ go,
                                           at::opmath_type<scalar_t>* __restrict__ partial, const Shape s,
                                           int64_t rows_per_slice) {
  using opmath_t = at::opmath_type<scalar_t>;
  __shared__ opmath_t xs[kWTile][kWTile + 1];
  __shared__ opmath_t gs[kWTile][kWTile + 1];
  const int64_t ci_tiles = (s.in_per_group + kWTile - 1) / kWTile, j_tiles = (s.out_per_group + kWTile - 1) / kWTile;
  const int64_t j0 = (blockIdx.x % j_tiles) * kWTile;
  const int64_t ci0 = (blockIdx.x / j_tiles % ci_tiles) * kWTile;
  const int64_t g = blockIdx.x / j_tiles / ci_tiles;
  const int64_t k = blockIdx.y, slice = blockIdx.z;
  const int64_t rows = s.batch * s.length;
  const int64_t r_begin = slice * rows_per_slice, r_end = std::min(rows, r_begin + rows_per_slice);
  const int tx = threadIdx.x % kWTile, ty = threadIdx.x / kWTile;  // ty in [0, 8): 4 ci rows each
  opmath_t acc[4] = {0, 0, 0, 0};
  for (int64_t r0 = r_begin; r0 < r_end; r0 += kWTile) {
    for (int e = threadIdx.x; e < kWTile * kWTile; e += blockDim.x) {
      const int c = e / kWTile, rr = e % kWTile;
      const int64_t r = r0 + rr, n = r / s.length, l = r % s.length;
      const int64_t ci = ci0 + c, j = j0 + c;
      const int64_t t = l * s.p.stride - s.p.padding + k * s.p.dilation;
      xs[c][rr] = (r < r_end && ci < s.in_per_group)
                      ? static_cast<opmath_t>(x[(n * s.in_channels + g * s.in_per_group + ci) * s.length + l])
                      : opmath_t(0);
      gs[c][rr] = (r < r_end && j < s.out_per_group && t >= 0 && t < s.out_length)
                      ? static_cast<opmath_t>(go[(n * s.out_channels + g * s.out_per_group + j) * s.out_length + t])
                      : opmath_t(0);
    }
    __syncthreads();
#pragma unroll 8
    for (int rr = 0; rr < kWTile; ++rr) {
      const opmath_t gv = gs[tx][rr];
#pragma unroll
      for (int i = 0; i < 4; ++i) acc[i] += xs[ty * 4 + i][rr] * gv;
    }
    __syncthreads();
  }
  const int64_t j = j0 + tx;
  for (int i = 0; i < 4; ++i) {
    const int64_t ci = ci0 + ty * 4 + i;
    if (ci < s.in_per_group && j < s.out_per_group) {
      partial[((slice * s.in_channels + g * s.in_per_group + ci) * s.out_per_group + j) * s.kernel + k] = acc[i];
    }
  }
}

template <typename scalar_t>
__global__ void grad_weight_sum_kernel(const at::opmath_type<scalar_t>* __restrict__ partial,
                                       scalar_t* __restrict__ gw, int64_t numel, int64_t slices) {
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < numel; i += int64_t{gridDim.x} * blockDim.x) {
    at::opmath_type<scalar_t> acc = 0;
    for (int64_t sl = 0; sl < slices; ++sl) acc += partial[sl * numel + i];
    gw[i] = static_cast<scalar_t>(acc);
  }
}

// One block per output channel.
template <typename scalar_t>
__global__ void grad_bias_kernel(const scalar_t* __restrict__ go, scalar_t* __restrict__ gb, const Shape s) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t co = blockIdx.x;
  opmath_t acc = 0;
  for (int64_t i = threadIdx.x; i < s.batch * s.out_length; i += blockDim.x) {
    const int64_t n = i / s.out_length, t = i % s.out_length;
    acc += static_cast<opmath_t>(go[(n * s.out_channels + co) * s.out_length + t]);
  }
  using BlockReduce = cub::BlockReduce<opmath_t, kThreads>;
  __shared__ typename BlockReduce::TempStorage temp;
  const opmath_t total = BlockReduce(temp).Sum(acc);
  if (threadIdx.x == 0) gb[co] = static_cast<scalar_t>(total);
}

void grad_weight(const Shape& s, const at::Tensor& input, const at::Tensor& go, at::Tensor& gw, cudaStream_t stream) {
  const int64_t tiles = s.p.groups * ((s.in_per_group + kWTile - 1) / kWTile) * ((s.out_per_group + kWTile - 1) / kWTile);
  const int64_t rows = s.batch * s.length;
  // Enough slices of the reduction to give every SM a few blocks, none shorter than 1024 rows.
  const int64_t sms = at::cuda::getCurrentDeviceProperties()->multiProcessorCount;
  const int64_t slices = std::max<int64_t>(
      1, std::min({(4 * sms + tiles * s.kernel - 1) / (tiles * s.kernel), (rows + 1023) / 1024, int64_t{65535}}));
  const int64_t rows_per_slice = (rows + slices - 1) / slices;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, input.scalar_type(), "fusedops grad_weight cuda", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const at::Tensor partial =
        at::empty({slices * gw.numel()}, input.options().dtype(c10::CppTypeToScalarType<opmath_t>::value));
    grad_weight_partial_kernel<scalar_t><<<dim3(tiles, s.kernel, slices), kThreads, 0, stream>>>(
        input.const_data_ptr<scalar_t>(), go.const_data_ptr<scalar_t>(), partial.mutable_data_ptr<opmath_t>(), s,
        rows_per_slice);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    grad_weight_sum_kernel<scalar_t><<<grid_stride_blocks(gw.numel(), kThreads, 4), kThreads, 0, stream>>>(
        partial.const_data_ptr<opmath_t>(), gw.mutable_data_ptr<scalar_t>(), gw.numel(), slices);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}

}  // namespace

at::Tensor conv_transpose1d_cuda(const at::Tensor& input, const at::Tensor& weight,
                                 const std::optional<at::Tensor>& bias, int64_t stride, int64_t padding,
                                 int64_t output_padding, int64_t groups, int64_t dilation) {
  const c10::OptionalDeviceGuard guard(input.device());
  ConvTranspose1dCall c =
      prepare_conv_transpose1d(input, weight, bias, {stride, padding, output_padding, groups, dilation});
  if (c.out.numel() == 0) return c.out;
  // PyTorch's precision policy for float32 convolutions: TF32 only when cuDNN may use it.
  const bool full_fp32 = !at::globalContext().allowTF32CuDNN();
  if (c.input.scalar_type() == at::kFloat && c.shape.p.stride == 1) {
    const ConvTranspose1dShape& s = c.shape;
    // conv_transpose2d's geometry of the (N, C, 1, L) views: its "in" sizes are this op's output.
    const Conv2dGeometry g{
        s.batch, s.p.groups, s.out_channels, 1, s.out_length, s.in_channels, 1, s.length, 1, s.kernel, 1,
        1,       0,          s.p.padding,    1, s.p.dilation};
    at::Tensor out_2d = c.out.unsqueeze(2);
    if (conv2d_tensor_core(g, true, c.input.unsqueeze(2), c.weight.unsqueeze(2), c.bias, out_2d, full_fp32)) {
      return c.out;
    }
  }
  if (c.input.scalar_type() == at::kFloat &&
      conv_transpose1d_forward_tensor_core(c.shape, c.input, c.weight, c.bias, c.out, full_fp32)) {
    return c.out;
  }
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, c.input.scalar_type(), "fusedops::conv_transpose1d cuda", [&] {
    forward_direct_kernel<scalar_t><<<grid_stride_blocks(c.out.numel(), kThreads, 8), kThreads, 0, stream>>>(
        c.input.const_data_ptr<scalar_t>(), c.weight.const_data_ptr<scalar_t>(),
        data_or_null<scalar_t>(c.bias), c.out.mutable_data_ptr<scalar_t>(), c.shape);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return c.out;
}

ConvGrads conv_transpose1d_backward_cuda(const at::Tensor& grad_output, const at::Tensor& input,
                                         const at::Tensor& weight, int64_t stride, int64_t padding,
                                         int64_t output_padding, int64_t groups, int64_t dilation,
                                         std::array<bool, 3> output_mask) {
  const c10::OptionalDeviceGuard guard(input.device());
  ConvTranspose1dBackwardCall c = prepare_conv_transpose1d_backward(
      grad_output, input, weight, {stride, padding, output_padding, groups, dilation}, output_mask);
  const Shape& s = c.shape;
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  if (c.grad_input.defined() && c.grad_input.numel() > 0) {
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, c.input.scalar_type(), "fusedops grad_input cuda", [&] {
      grad_input_kernel<scalar_t><<<grid_stride_blocks(c.grad_input.numel(), kThreads, 8), kThreads, 0, stream>>>(
          c.grad_output.const_data_ptr<scalar_t>(), c.weight.const_data_ptr<scalar_t>(),
          c.grad_input.mutable_data_ptr<scalar_t>(), s);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  if (c.grad_weight.defined()) grad_weight(s, c.input, c.grad_output, c.grad_weight, stream);
  if (c.grad_bias.defined()) {
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, c.input.scalar_type(), "fusedops grad_bias cuda", [&] {
      grad_bias_kernel<scalar_t><<<s.out_channels, kThreads, 0, stream>>>(c.grad_output.const_data_ptr<scalar_t>(),
                                                                          c.grad_bias.mutable_data_ptr<scalar_t>(), s);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  return {c.grad_input, c.grad_weight, c.grad_bias};
}

}  // namespace fusedops
