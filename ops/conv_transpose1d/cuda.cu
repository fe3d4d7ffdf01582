// fusedops::conv_transpose1d on CUDA. The forward takes a tensor-core implicit GEMM for float32 where one applies: at
// unit stride the 2D engine (ops/conv2d/cuda_tensor_core.cu) on (N, C, 1, L) views, which is faster there than this
// operator's own kernel (bench/NOTES.md), else the 1D kernel's stride phases (cuda_tensor_core.cu); everything else
// (float64, half types, older GPUs, sizes the fast path does not cover) runs the direct kernels here: one thread per
// output element, accumulating in at::opmath_type. The backward runs conv2d's kernels on the same views (grad_input is
// the convolution's forward, grad_weight its weight gradient, both on tensor cores for float32 where they apply) and a
// block reduction here for grad_bias. All launches go to the current stream of the inputs' device; scratch
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

// The convolution whose transpose this operator is, on (N, C, 1, L) views: its input is this operator's output and its
// output this operator's input; its weight (C_in, C_out / groups, 1, kernel) is this operator's.
Conv2dGeometry convolution_of(const Shape& s) {
  return {s.batch,  s.p.groups, s.out_channels, 1, s.out_length,  s.in_channels, 1, s.length,
          1,        s.kernel,   1,              s.p.stride,      0, s.p.padding,  1, s.p.dilation};
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
    const Conv2dGeometry g = convolution_of(c.shape);
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
  // grad_input is the convolution itself of grad_output, grad_weight its weight gradient (conv2d's kernels).
  const Conv2dGeometry g = convolution_of(s);
  if (c.grad_input.defined() && c.grad_input.numel() > 0) {
    at::Tensor grad_input_2d = c.grad_input.unsqueeze(2);
    conv2d_cuda_kernels.forward(g, c.grad_output.unsqueeze(2), c.weight.unsqueeze(2), at::Tensor(), grad_input_2d);
  }
  if (c.grad_weight.defined()) {
    at::Tensor grad_weight_2d = c.grad_weight.unsqueeze(2);
    conv2d_cuda_kernels.weight_grad(g, c.grad_output.unsqueeze(2), c.input.unsqueeze(2), grad_weight_2d);
  }
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
