// The convolution kernels on CUDA (ops/conv2d/conv2d.h says which operator uses which).
//
// forward / transposed: float32 at unit stride takes the tensor-core implicit GEMM (cuda_tensor_core.cu, sm_80 and
// newer) under PyTorch's precision policy for float32 convolutions: TF32 when cuDNN may use it, 3xTF32 (float32
// accuracy) when not. A strided transposed convolution splits into stride_h x stride_w output phases, each a
// unit-stride transposed convolution with the taps that land on it, on that path too. Everything else (strided
// forward convolutions, float64, half types, older GPUs, sizes that path does not cover) runs one direct kernel. A
// thread computes kPix adjacent output columns for a tile of kTile output channels of one group, so each input value it
// loads feeds kTile FMAs and each weight kPix; the tile's weights are staged in shared memory, reduction channels a
// chunk at a time, laid out so the kTile values of one tap are contiguous (vector loads, broadcast to the warp). It
// runs float32 in plain FP32; half types accumulate in float32. weight_grad: float32 on sm_80 and newer takes the
// tensor cores (cuda_weight_grad.cu) under the same policy; everything else a block per (output channel, input channel,
// tap chunk, slice of the N * H * W reduction). Both are deterministic (slices are summed in a fixed order by a second
// kernel).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/core/DeviceGuard.h>
#include <c10/cuda/CUDAException.h>

#include <cub/block/block_reduce.cuh>
#include <numeric>

#include "ops/common/checks.h"
#include "ops/common/cuda_launch.cuh"
#include "ops/common/tensors.h"
#include "ops/conv2d/conv2d.h"
#include "ops/conv2d/cuda_tensor_core.cuh"

namespace fusedops {
namespace {

using G = Conv2dGeometry;
constexpr int kThreads = 256;
constexpr int kWeightSmemBytes = 16 * 1024;
constexpr int kPix = 4;  // output columns per thread: each weight read from shared memory feeds kPix FMAs

// The direct kernel's view of one call: it reads `src` (N, src_channels, src_h, src_w) and writes `dst` (N,
// dst_channels, dst_h, dst_w), reducing over red_per_group channels of the output's group.
struct DirectArgs {
  int64_t batch;
  int src_channels, src_h, src_w, dst_channels, dst_h, dst_w;
  int red_per_group, dst_per_group, kernel_h, kernel_w;
  int stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
  // weight index = group * w_group + dst_local * w_dst + red_local * w_red + tap
  int64_t w_group, w_dst, w_red;
  int red_chunk;  // reduction channels per shared-memory stage
};

DirectArgs direct_args(const G& g, bool transposed) {
  const int64_t kk = g.kernel_h * g.kernel_w, ipg = g.in_per_group(), opg = g.out_per_group();
  DirectArgs a{};
  a.batch = g.batch;
  a.kernel_h = int(g.kernel_h), a.kernel_w = int(g.kernel_w);
  a.stride_h = int(g.stride_h), a.stride_w = int(g.stride_w), a.pad_h = int(g.pad_h), a.pad_w = int(g.pad_w);
  a.dil_h = int(g.dil_h), a.dil_w = int(g.dil_w);
  a.w_group = opg * ipg * kk;
  if (!transposed) {
    a.src_channels = int(g.in_channels), a.src_h = int(g.in_h), a.src_w = int(g.in_w);
    a.dst_channels = int(g.out_channels), a.dst_h = int(g.out_h), a.dst_w = int(g.out_w);
    a.red_per_group = int(ipg), a.dst_per_group = int(opg), a.w_dst = ipg * kk, a.w_red = kk;
  } else {
    a.src_channels = int(g.out_channels), a.src_h = int(g.out_h), a.src_w = int(g.out_w);
    a.dst_channels = int(g.in_channels), a.dst_h = int(g.in_h), a.dst_w = int(g.in_w);
    a.red_per_group = int(opg), a.dst_per_group = int(ipg), a.w_dst = kk, a.w_red = ipg * kk;
  }
  return a;
}

// How the kernel maps an output position and tap to an input position: conv2d's forward, or the transposed
// convolution, whose unit-stride case needs no divisibility test (the modulo would cost more than the tap's FMAs).
enum class Mapping { kForward, kTransposedUnitStride, kTransposed };

// One tap's kTile weights, loaded from shared memory with vector loads.
template <typename T, int kTile>
struct alignas(sizeof(T) * kTile >= 16 ? 16 : sizeof(T) * kTile) TapWeights {
  T v[kTile];
};

template <typename scalar_t, Mapping kMapping, int kTile>
__global__ void __launch_bounds__(kThreads)
    direct_conv_kernel(const scalar_t* __restrict__ src, const scalar_t* __restrict__ w,
                       const scalar_t* __restrict__ bias, scalar_t* __restrict__ dst, const DirectArgs a) {
  using opmath_t = at::opmath_type<scalar_t>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  opmath_t* ws = reinterpret_cast<opmath_t*>(smem_raw);  // [red_chunk][kernel_h * kernel_w][kTile]

  const int tiles_per_group = (a.dst_per_group + kTile - 1) / kTile;
  const int group = blockIdx.y / tiles_per_group, d0 = (blockIdx.y % tiles_per_group) * kTile;
  const int64_t dst_plane = int64_t{a.dst_h} * a.dst_w;
  // This thread's kPix output columns ow0 .. ow0 + kPix - 1 of row oh.
  const int col_blocks = (a.dst_w + kPix - 1) / kPix;
  const int64_t row_blocks = int64_t{a.dst_h} * col_blocks;
  const int64_t pos = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  const bool active = pos < a.batch * row_blocks;
  const int64_t n = active ? pos / row_blocks : 0;
  const int rem = int(active ? pos % row_blocks : 0), oh = rem / col_blocks, ow0 = rem % col_blocks * kPix;
  const int taps = a.kernel_h * a.kernel_w;

  opmath_t acc[kPix][kTile];
#pragma unroll
  for (int t = 0; t < kTile; ++t) {
    const int d = d0 + t;
    const opmath_t b = (bias != nullptr && d < a.dst_per_group)
                           ? static_cast<opmath_t>(bias[group * a.dst_per_group + d])
                           : opmath_t(0);
#pragma unroll
    for (int j = 0; j < kPix; ++j) acc[j][t] = b;
  }
  const scalar_t* src_group = src + (n * a.src_channels + int64_t{group} * a.red_per_group) * a.src_h * a.src_w;
  const scalar_t* w_group = w + group * a.w_group;

  for (int r0 = 0; r0 < a.red_per_group; r0 += a.red_chunk) {
    const int chunk = min(a.red_chunk, a.red_per_group - r0);
    __syncthreads();  // the previous chunk's weights are no longer read
    for (int e = threadIdx.x; e < chunk * taps * kTile; e += blockDim.x) {
      const int t = e % kTile, tap = (e / kTile) % taps, r = e / (kTile * taps);
      ws[e] = d0 + t < a.dst_per_group ? static_cast<opmath_t>(w_group[(d0 + t) * a.w_dst + (r0 + r) * a.w_red + tap])
                                       : opmath_t(0);
    }
    __syncthreads();
    if (!active) continue;
    for (int r = 0; r < chunk; ++r) {
      const scalar_t* plane = src_group + int64_t{r0 + r} * a.src_h * a.src_w;
      for (int kh = 0; kh < a.kernel_h; ++kh) {
        int ih;
        if constexpr (kMapping == Mapping::kTransposed) {
          const int num = oh + a.pad_h - kh * a.dil_h;
          if (num < 0 || num % a.stride_h != 0) continue;
          ih = num / a.stride_h;
        } else if constexpr (kMapping == Mapping::kTransposedUnitStride) {
          ih = oh + a.pad_h - kh * a.dil_h;
        } else {
          ih = oh * a.stride_h - a.pad_h + kh * a.dil_h;
        }
        if (ih < 0 || ih >= a.src_h) continue;
        const scalar_t* row = plane + int64_t{ih} * a.src_w;
        for (int kw = 0; kw < a.kernel_w; ++kw) {
          // The tap's weights, read once for kPix columns.
          const auto wt =
              *reinterpret_cast<const TapWeights<opmath_t, kTile>*>(ws + (r * taps + kh * a.kernel_w + kw) * kTile);
#pragma unroll
          for (int j = 0; j < kPix; ++j) {
            const int ow = ow0 + j;
            int iw;
            if constexpr (kMapping == Mapping::kTransposed) {
              const int num = ow + a.pad_w - kw * a.dil_w;
              if (num < 0 || num % a.stride_w != 0) continue;
              iw = num / a.stride_w;
            } else if constexpr (kMapping == Mapping::kTransposedUnitStride) {
              iw = ow + a.pad_w - kw * a.dil_w;
            } else {
              iw = ow * a.stride_w - a.pad_w + kw * a.dil_w;
            }
            if (iw < 0 || iw >= a.src_w) continue;  // (columns past the row's end are computed, never written)
            const opmath_t v = static_cast<opmath_t>(row[iw]);
#pragma unroll
            for (int t = 0; t < kTile; ++t) acc[j][t] += v * wt.v[t];
          }
        }
      }
    }
  }
  if (!active) return;
  scalar_t* out =
      dst + (n * a.dst_channels + int64_t{group} * a.dst_per_group + d0) * dst_plane + int64_t{oh} * a.dst_w + ow0;
#pragma unroll
  for (int t = 0; t < kTile; ++t) {
#pragma unroll
    for (int j = 0; j < kPix; ++j) {
      if (d0 + t < a.dst_per_group && ow0 + j < a.dst_w) out[t * dst_plane + j] = static_cast<scalar_t>(acc[j][t]);
    }
  }
}

template <int kTile>
void launch_direct(const G& g, bool transposed, const at::Tensor& src, const at::Tensor& w, const at::Tensor& bias,
                   at::Tensor& dst) {
  DirectArgs a = direct_args(g, transposed);
  const int64_t taps = g.kernel_h * g.kernel_w;
  const int64_t positions = a.batch * a.dst_h * ((a.dst_w + kPix - 1) / kPix);  // one thread each
  const int64_t tiles = int64_t{g.groups} * ((a.dst_per_group + kTile - 1) / kTile);
  TORCH_CHECK(tiles <= 65535, "fusedops conv2d (CUDA): too many output channels per launch (", text(tiles),
              " channel tiles, at most 65535)");
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, src.scalar_type(), "fusedops conv2d direct cuda", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const int64_t per_channel = taps * kTile * int64_t{sizeof(opmath_t)};
    a.red_chunk = int(std::max<int64_t>(1, std::min<int64_t>(a.red_per_group, kWeightSmemBytes / per_channel)));
    const size_t smem = size_t(a.red_chunk * per_channel);
    TORCH_CHECK(smem <= 48 * 1024, "fusedops conv2d (CUDA): a ", text(g.kernel_h), " x ", text(g.kernel_w),
                " kernel is too large for the direct kernel's shared memory");
    const dim3 grid(unsigned((positions + kThreads - 1) / kThreads), unsigned(tiles));
    auto kernel = !transposed ? direct_conv_kernel<scalar_t, Mapping::kForward, kTile>
                  : (g.stride_h == 1 && g.stride_w == 1)
                      ? direct_conv_kernel<scalar_t, Mapping::kTransposedUnitStride, kTile>
                      : direct_conv_kernel<scalar_t, Mapping::kTransposed, kTile>;
    kernel<<<grid, kThreads, smem, at::cuda::getCurrentCUDAStream()>>>(
        src.const_data_ptr<scalar_t>(), w.const_data_ptr<scalar_t>(), data_or_null<scalar_t>(bias),
        dst.mutable_data_ptr<scalar_t>(), a);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}

void direct(const G& g, bool transposed, const at::Tensor& src, const at::Tensor& w, const at::Tensor& bias,
            at::Tensor& dst) {
  TORCH_CHECK(std::max({g.in_h * g.in_w, g.out_h * g.out_w}) < (int64_t{1} << 31),
              "fusedops conv2d (CUDA): planes of 2^31 or more elements are not "
              "supported");
  const int64_t dst_per_group = transposed ? g.in_per_group() : g.out_per_group();
  if (dst_per_group >= 8) {
    launch_direct<8>(g, transposed, src, w, bias, dst);
  } else {
    launch_direct<1>(g, transposed, src, w, bias, dst);
  }
}

// Along one dimension of a stride-s transposed convolution, the taps that land on output phase r (outputs r, r + s,
// ...): taps first, first + step, ... (count of them; none for some phases when kernel < stride). Output r + s * i
// reads input i + pad - m * dil through tap first + m * step: a unit-stride transposed convolution of that dilation
// and padding (the padding may be negative: it then only shifts).
struct PhaseTaps {
  int64_t first = 0, step = 1, count = 0, dil = 1, pad = 0;
};

PhaseTaps phase_taps(int64_t r, int64_t stride, int64_t padding, int64_t kernel, int64_t dilation) {
  const int64_t common = std::gcd(stride, dilation), step = stride / common;
  for (int64_t a = 0; a < std::min(kernel, step); ++a) {
    if ((r + padding - a * dilation) % stride == 0) {
      return {a, step, (kernel - a + step - 1) / step, dilation / common, (r + padding - a * dilation) / stride};
    }
  }
  return {};
}

// A strided float32 transposed convolution as its output phases on the tensor cores: each phase into a buffer (one
// phase at a time, so the allocator reuses it), then into its strided place in dst (one extra pass over dst). False
// when the tensor-core path does not cover some phase: dst is then partly written, and the direct kernel that the
// caller runs instead writes all of it.
bool transposed_by_phases(const G& g, const at::Tensor& src, const at::Tensor& w, const at::Tensor& bias,
                          at::Tensor& dst, bool full_fp32) {
  for (int64_t r_h = 0; r_h < std::min(g.stride_h, g.in_h); ++r_h) {
    for (int64_t r_w = 0; r_w < std::min(g.stride_w, g.in_w); ++r_w) {
      const PhaseTaps th = phase_taps(r_h, g.stride_h, g.pad_h, g.kernel_h, g.dil_h);
      const PhaseTaps tw = phase_taps(r_w, g.stride_w, g.pad_w, g.kernel_w, g.dil_w);
      at::Tensor place = dst.slice(2, r_h, g.in_h, g.stride_h).slice(3, r_w, g.in_w, g.stride_w);
      if (th.count == 0 || tw.count == 0) {  // no tap lands on the phase: the bias alone
        if (bias.defined()) {
          place.copy_(bias.view({1, -1, 1, 1}).expand_as(place));
        } else {
          place.zero_();
        }
        continue;
      }
      G pg = g;
      pg.in_h = place.size(2), pg.in_w = place.size(3);
      pg.kernel_h = th.count, pg.kernel_w = tw.count;
      pg.stride_h = pg.stride_w = 1;
      pg.pad_h = th.pad, pg.pad_w = tw.pad, pg.dil_h = th.dil, pg.dil_w = tw.dil;
      const at::Tensor pw = w.slice(2, th.first, th.first + (th.count - 1) * th.step + 1, th.step)
                                .slice(3, tw.first, tw.first + (tw.count - 1) * tw.step + 1, tw.step)
                                .contiguous();
      at::Tensor values = at::empty(place.sizes(), dst.options());
      if (!conv2d_tensor_core(pg, true, src, pw, bias, values, full_fp32)) return false;
      place.copy_(values);
    }
  }
  return true;
}

// The tensor-core path when it covers the call (with dst's tile moments when asked), else the direct kernel.
void convolve(const G& g, bool transposed, const at::Tensor& src, const at::Tensor& w, const at::Tensor& bias,
              at::Tensor& dst, TileMoments* moments = nullptr) {
  // PyTorch's precision policy for float32 convolutions: TF32 only when cuDNN may use it.
  const bool full_fp32 = !at::globalContext().allowTF32CuDNN();
  if (src.scalar_type() == at::kFloat) {
    if (conv2d_tensor_core(g, transposed, src, w, bias, dst, full_fp32, moments)) return;
    if (transposed && (g.stride_h > 1 || g.stride_w > 1) && transposed_by_phases(g, src, w, bias, dst, full_fp32)) {
      return;
    }
  }
  direct(g, transposed, src, w, bias, dst);
}

void forward(const G& g, const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias, at::Tensor& y) {
  convolve(g, false, x, w, bias, y);
}

void transposed(const G& g, const at::Tensor& y, const at::Tensor& w, const at::Tensor& bias, at::Tensor& x) {
  convolve(g, true, y, w, bias, x);
}

void transposed_with_moments(const G& g, const at::Tensor& y, const at::Tensor& w, const at::Tensor& bias,
                             at::Tensor& x, TileMoments& moments) {
  convolve(g, true, y, w, bias, x, &moments);
}

template <typename scalar_t>
__global__ void sum_slices_kernel(const at::opmath_type<scalar_t>* __restrict__ partial, scalar_t* __restrict__ out,
                                  int64_t numel, int64_t slices) {
  for (int64_t e = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; e < numel; e += int64_t{gridDim.x} * blockDim.x) {
    at::opmath_type<scalar_t> acc = 0;
    for (int64_t s = 0; s < slices; ++s) acc += partial[s * numel + e];
    out[e] = static_cast<scalar_t>(acc);
  }
}

// partial[slice][(o * ipg + i) * taps + tap] for taps [tap0, tap0 + tap_chunk).
template <typename scalar_t>
__global__ void __launch_bounds__(kThreads)
    weight_grad_partial_kernel(const scalar_t* __restrict__ x, const scalar_t* __restrict__ gy,
                               at::opmath_type<scalar_t>* __restrict__ partial, const G g, int tap_chunk,
                               int64_t positions_per_slice) {
  using opmath_t = at::opmath_type<scalar_t>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  opmath_t* acc = reinterpret_cast<opmath_t*>(smem_raw) + threadIdx.x * tap_chunk;  // this thread's taps
  const int64_t ipg = g.in_per_group(), opg = g.out_per_group(), taps = g.kernel_h * g.kernel_w;
  const int64_t o = blockIdx.x / ipg, i = blockIdx.x % ipg, grp = o / opg;
  const int64_t tap0 = int64_t{blockIdx.z} * tap_chunk, tap_end = std::min(taps, tap0 + tap_chunk);
  const int64_t plane = g.out_h * g.out_w, positions = g.batch * plane;
  const int64_t p_begin = blockIdx.y * positions_per_slice, p_end = std::min(positions, p_begin + positions_per_slice);
  for (int64_t t = tap0; t < tap_end; ++t) acc[t - tap0] = 0;
  for (int64_t p = p_begin + threadIdx.x; p < p_end; p += blockDim.x) {
    const int64_t n = p / plane, rem = p % plane, oh = rem / g.out_w, ow = rem % g.out_w;
    const opmath_t gv = static_cast<opmath_t>(gy[(n * g.out_channels + o) * plane + rem]);
    const scalar_t* x_plane = x + (n * g.in_channels + grp * ipg + i) * g.in_h * g.in_w;
    for (int64_t t = tap0; t < tap_end; ++t) {
      const int64_t ih = oh * g.stride_h - g.pad_h + (t / g.kernel_w) * g.dil_h;
      const int64_t iw = ow * g.stride_w - g.pad_w + (t % g.kernel_w) * g.dil_w;
      if (ih >= 0 && ih < g.in_h && iw >= 0 && iw < g.in_w) {
        acc[t - tap0] += gv * static_cast<opmath_t>(x_plane[ih * g.in_w + iw]);
      }
    }
  }
  using BlockReduce = cub::BlockReduce<opmath_t, kThreads>;
  __shared__ typename BlockReduce::TempStorage temp;
  const int64_t numel = g.out_channels * ipg * taps;
  for (int64_t t = tap0; t < tap_end; ++t) {
    const opmath_t total = BlockReduce(temp).Sum(acc[t - tap0]);
    if (threadIdx.x == 0) partial[blockIdx.y * numel + blockIdx.x * taps + t] = total;
    __syncthreads();  // temp is reused by the next tap's reduction
  }
}

void weight_grad(const G& g, const at::Tensor& x, const at::Tensor& gy, at::Tensor& gw) {
  if (gw.numel() == 0) return;
  // PyTorch's precision policy for float32 convolutions, as in convolve().
  if (x.scalar_type() == at::kFloat &&
      conv2d_weight_grad_tensor_core(g, x, gy, gw, !at::globalContext().allowTF32CuDNN())) {
    return;
  }
  const int64_t taps = g.kernel_h * g.kernel_w, pairs = g.out_channels * g.in_per_group();
  const int64_t positions = g.batch * g.out_h * g.out_w;
  TORCH_CHECK(pairs < (int64_t{1} << 31), "fusedops conv2d weight_grad (CUDA): too many weight channels");
  const auto opmath = at::toOpMathType(x.scalar_type());
  const int tap_chunk = int(std::min<int64_t>(taps, 32 * 1024 / (kThreads * at::elementSize(opmath))));
  const int64_t tap_chunks = (taps + tap_chunk - 1) / tap_chunk;
  // Enough slices to give every SM several blocks, none shorter than 4096 positions.
  const int64_t sms = at::cuda::getCurrentDeviceProperties()->multiProcessorCount;
  const int64_t slices = std::max<int64_t>(1, std::min({(8 * sms + pairs * tap_chunks - 1) / (pairs * tap_chunks),
                                                        (positions + 4095) / 4096, int64_t{65535}}));
  const int64_t per_slice = std::max<int64_t>(1, (positions + slices - 1) / slices);
  const at::Tensor partial = at::empty({slices, gw.numel()}, x.options().dtype(opmath));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "fusedops conv2d weight_grad cuda", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    weight_grad_partial_kernel<scalar_t><<<dim3(unsigned(pairs), unsigned(slices), unsigned(tap_chunks)), kThreads,
                                           size_t(kThreads) * tap_chunk * sizeof(opmath_t),
                                           at::cuda::getCurrentCUDAStream()>>>(
        x.const_data_ptr<scalar_t>(), gy.const_data_ptr<scalar_t>(), partial.mutable_data_ptr<opmath_t>(), g, tap_chunk,
        per_slice);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  sum_weight_grad_slices(partial, gw);
}

}  // namespace

void sum_weight_grad_slices(const at::Tensor& partial, at::Tensor& gw) {
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, gw.scalar_type(), "fusedops sum_weight_grad_slices", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    sum_slices_kernel<scalar_t><<<grid_stride_blocks(gw.numel(), kThreads, 4), kThreads, 0,
                                  at::cuda::getCurrentCUDAStream()>>>(
        partial.const_data_ptr<opmath_t>(), gw.mutable_data_ptr<scalar_t>(), gw.numel(), partial.size(0));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}

const Conv2dKernels conv2d_cuda_kernels{forward, transposed, transposed_with_moments, weight_grad};

at::Tensor conv2d_cuda(FUSEDOPS_CONV2D_ARGS) {
  const c10::OptionalDeviceGuard guard(input.device());
  return conv2d_forward(conv2d_cuda_kernels, input, weight, bias, stride, padding, dilation, groups);
}

ConvGrads conv2d_backward_cuda(FUSEDOPS_CONV2D_BACKWARD_ARGS) {
  const c10::OptionalDeviceGuard guard(input.device());
  check_conv2d_backward(grad_output, input, weight, stride, padding, dilation, groups);
  return conv2d_backward_with(conv2d_cuda_kernels, conv2d_geometry(input, weight, stride, padding, dilation, groups),
                              grad_output, input, weight, output_mask);
}

at::Tensor conv_transpose2d_cuda(FUSEDOPS_CONV_TRANSPOSE2D_ARGS) {
  const c10::OptionalDeviceGuard guard(input.device());
  return conv_transpose2d_forward(conv2d_cuda_kernels, input, weight, bias, stride, padding, output_padding, groups,
                                  dilation);
}

ConvGrads conv_transpose2d_backward_cuda(FUSEDOPS_CONV_TRANSPOSE2D_BACKWARD_ARGS) {
  const c10::OptionalDeviceGuard guard(input.device());
  check_conv_transpose2d_backward(grad_output, input, weight, stride, padding, output_padding, groups, dilation);
  return conv_transpose2d_backward_with(
      conv2d_cuda_kernels, conv_transpose2d_geometry(input, weight, stride, padding, output_padding, groups, dilation),
      grad_output, input, weight, output_mask);
}

}  // namespace fusedops
