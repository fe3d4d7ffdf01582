// The float32 weight gradient of a convolution on tensor cores (TF32 mma.sync; 3xTF32 for full float32 accuracy):
// gw[o, i, kh, kw] = sum over (n, oh, ow) of gy[n, o, oh, ow] * x[n, group * ipg + i, oh * stride_h - pad_h + kh * dil_h,
// ow * stride_w - pad_w + kw * dil_w], o and i in one group.
//
// Per group and tap a GEMM: M = the group's output channels (gy's), N = its input channels (x's), K = the N * out_h *
// out_w output positions. K runs to millions and M, N to 8-128, so a block owns one tile of the result (kM x kN
// channels x a chunk of kTaps taps) over one slice of K, and sum_weight_grad_slices adds the slices in a fixed order
// (deterministic). A K step is a run of kSeg = 32 positions of one output row. For it a warp copies gy's kM x 32 values
// (A) and, of each of its kN input channels, the x rows its tap chunk reads over the span those 32 positions reach
// (B): each tap's B operand is that span shifted by the tap's offset, so one step's copies feed all kTaps taps. Each
// warp runs its own cp.async pipeline over its part of the block's slice, with no block-wide barrier until the end,
// where the warps' sums are added in shared memory.
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>

#include <algorithm>

#include "ops/common/mma_tf32.cuh"
#include "ops/conv2d/cuda_tensor_core.cuh"

namespace fusedops {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = 32 * kWarps;
constexpr int kSeg = 32;           // output positions per K step: four mma k-steps
constexpr int kStages = 3;         // K steps in flight per warp
constexpr int kAPitch = kSeg + 4;  // = 4 (mod 32): an A fragment load hits 32 banks

struct WeightGradArgs {
  const float* x;
  const float* gy;
  float* partial;  // [slices][numel], gw's layout in each slice
  int64_t steps, steps_per_block, numel;
  int in_channels, in_h, in_w, out_channels, out_h, out_w, ipg, opg;
  int kernel_w, taps, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
  int m_tiles, n_tiles, tap_chunks, segs;
  int rows;          // kernel rows a tap chunk spans (at most)
  int span;          // x columns a step reads per kernel row
  int chan_pitch;    // floats between two channels' rows in B, = 4 (mod 32) so that a B fragment load hits 32 banks
  int stage_floats;  // A, then B
};

// A warp tile is kMW x kNW m16n8 tiles for each of kTaps taps.
template <int kMW, int kNW, int kTaps, bool kSplit>
__global__ void __launch_bounds__(kThreads) weight_grad_tf32_kernel(const WeightGradArgs a) {
#ifdef FUSEDOPS_HAS_MMA_TF32
  constexpr int kM = 16 * kMW, kN = 8 * kNW;
  extern __shared__ __align__(16) float smem[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  int tile = blockIdx.x;
  const int chunk = tile % a.tap_chunks;
  tile /= a.tap_chunks;
  const int i0 = tile % a.n_tiles * kN;
  tile /= a.n_tiles;
  const int o0 = tile % a.m_tiles * kM, group = tile / a.m_tiles;
  const int t0 = chunk * kTaps, kh0 = t0 / a.kernel_w, taps_here = min(kTaps, a.taps - t0);
  int tap_offset[kTaps];  // where each tap's B operand starts in a channel's rows
#pragma unroll
  for (int j = 0; j < kTaps; ++j) {
    tap_offset[j] = ((t0 + j) / a.kernel_w - kh0) * a.span + (t0 + j) % a.kernel_w * a.dil_w;
  }

  // This warp's K steps: its quarter of the block's slice.
  const int64_t block_begin = int64_t{blockIdx.y} * a.steps_per_block;
  const int64_t block_end = min(a.steps, block_begin + a.steps_per_block);
  const int64_t per_warp = (block_end - block_begin + kWarps - 1) / kWarps;
  const int64_t begin = min(block_end, block_begin + warp * per_warp), end = min(block_end, begin + per_warp);
  float* stages = smem + warp * kStages * a.stage_floats;
  auto stage_of = [&](int64_t s) { return stages + (s - begin) % kStages * a.stage_floats; };

  const int64_t out_plane = int64_t{a.out_h} * a.out_w, in_plane = int64_t{a.in_h} * a.in_w;
  auto load = [&](int64_t s) {
    float* buf = stage_of(s);
    const int ow0 = int(s % a.segs) * kSeg, oh = int(s / a.segs % a.out_h);
    const int64_t n = s / a.segs / a.out_h;
    // A: gy[n, o0 + r, oh, ow0 + lane], zero past the row's end and the group's channels.
    const float* gy_row =
        a.gy + (n * a.out_channels + int64_t{group} * a.opg + o0) * out_plane + int64_t{oh} * a.out_w + ow0 + lane;
    const bool col_ok = ow0 + lane < a.out_w;
#pragma unroll
    for (int r = 0; r < kM; ++r) {
      const bool ok = col_ok && o0 + r < a.opg;
      cp_async4(buf + r * kAPitch + lane, ok ? gy_row + r * out_plane : a.gy, ok);
    }
    // B: for channel i and kernel row kh0 + r, x[n, i0 + i, ih, col0 + c] for c < span, zero outside x.
    float* b = buf + kM * kAPitch;
    const float* x_n = a.x + (n * a.in_channels + int64_t{group} * a.ipg + i0) * in_plane;
    const int col0 = ow0 * a.stride_w - a.pad_w, ih0 = oh * a.stride_h - a.pad_h + kh0 * a.dil_h;
    int i = 0, r = 0, c = lane;  // advanced by 32 elements at a time; span >= 32, so c wraps at most once
    while (i < kN) {
      const int ih = ih0 + r * a.dil_h, col = col0 + c;
      const bool ok = i0 + i < a.ipg && ih >= 0 && ih < a.in_h && col >= 0 && col < a.in_w;
      cp_async4(b + i * a.chan_pitch + r * a.span + c, ok ? x_n + i * in_plane + int64_t{ih} * a.in_w + col : a.x, ok);
      c += 32;
      if (c >= a.span) {
        c -= a.span;
        if (++r == a.rows) r = 0, ++i;
      }
    }
  };

  float acc[kTaps][kMW][kNW][4] = {};
  auto compute = [&](int64_t s) {
    const float* as = stage_of(s);
    const float* bs = as + kM * kAPitch;
    // Positions past the row's end: their A is zero, and their B is zeroed too, so that a non-finite x read only
    // through them does not reach the sums as 0 * inf.
    const int valid = min(kSeg, a.out_w - int(s % a.segs) * kSeg);
#pragma unroll
    for (int kk = 0; kk < kSeg; kk += 8) {
      uint32_t ah[kMW][4], al[kMW][4];
#pragma unroll
      for (int mi = 0; mi < kMW; ++mi) {
        const float* p = as + (mi * 16 + g) * kAPitch + kk + t;
        split_tf32<kSplit>(p[0], ah[mi][0], al[mi][0]);
        split_tf32<kSplit>(p[8 * kAPitch], ah[mi][1], al[mi][1]);
        split_tf32<kSplit>(p[4], ah[mi][2], al[mi][2]);
        split_tf32<kSplit>(p[8 * kAPitch + 4], ah[mi][3], al[mi][3]);
      }
      const bool ok0 = kk + t < valid, ok1 = kk + t + 4 < valid;
#pragma unroll
      for (int j = 0; j < kTaps; ++j) {
        if (j >= taps_here) break;
#pragma unroll
        for (int ni = 0; ni < kNW; ++ni) {
          const float* p = bs + (ni * 8 + g) * a.chan_pitch + tap_offset[j] + (kk + t) * a.stride_w;
          uint32_t bh0, bl0, bh1, bl1;
          split_tf32<kSplit>(ok0 ? p[0] : 0.f, bh0, bl0);
          split_tf32<kSplit>(ok1 ? p[4 * a.stride_w] : 0.f, bh1, bl1);
#pragma unroll
          for (int mi = 0; mi < kMW; ++mi) {
            mma_tf32(acc[j][mi][ni], ah[mi][0], ah[mi][1], ah[mi][2], ah[mi][3], bh0, bh1);
            if constexpr (kSplit) {
              mma_tf32(acc[j][mi][ni], ah[mi][0], ah[mi][1], ah[mi][2], ah[mi][3], bl0, bl1);
              mma_tf32(acc[j][mi][ni], al[mi][0], al[mi][1], al[mi][2], al[mi][3], bh0, bh1);
            }
          }
        }
      }
    }
  };

  for (int64_t s = begin; s < begin + kStages - 1; ++s) {
    if (s < end) load(s);
    cp_async_commit();
  }
  for (int64_t s = begin; s < end; ++s) {
    if (s + kStages - 1 < end) load(s + kStages - 1);  // into the stage that step s - 1 read
    cp_async_commit();
    cp_async_wait<kStages - 1>();
    __syncwarp();  // every lane's copies of step s have landed
    compute(s);
    __syncwarp();  // step s's stage is free
  }
  cp_async_wait<0>();
  __syncthreads();

  // The four warps' sums, added in shared memory, then written to this slice of `partial`.
  constexpr int kTileFloats = kTaps * kM * kN;
  float* sums = smem;
#pragma unroll
  for (int j = 0; j < kTaps; ++j) {
#pragma unroll
    for (int mi = 0; mi < kMW; ++mi) {
#pragma unroll
      for (int ni = 0; ni < kNW; ++ni) {
#pragma unroll
        for (int q = 0; q < 4; ++q) {
          const int m = mi * 16 + g + q / 2 * 8, n = ni * 8 + 2 * t + q % 2;
          sums[warp * kTileFloats + (j * kM + m) * kN + n] = acc[j][mi][ni][q];
        }
      }
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < kTileFloats; e += kThreads) {
    const int j = e / (kM * kN), m = e / kN % kM, n = e % kN;
    if (j >= taps_here || o0 + m >= a.opg || i0 + n >= a.ipg) continue;
    float total = 0;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) total += sums[w * kTileFloats + e];
    a.partial[int64_t{blockIdx.y} * a.numel + ((int64_t{group} * a.opg + o0 + m) * a.ipg + i0 + n) * a.taps + t0 + j] =
        total;
  }
#else
  __trap();
#endif
}

// Sizes the launch for one instantiation; false, launching nothing, when its shared memory does not fit.
template <int kMW, int kNW, int kTaps>
bool launch(WeightGradArgs a, int64_t groups, bool split, at::Tensor& gw) {
  constexpr int kM = 16 * kMW, kN = 8 * kNW;
  // The kernel rows a chunk of kTaps consecutive taps spans, at most.
  a.rows = 0;
  for (int t0 = 0; t0 < a.taps; t0 += kTaps) {
    a.rows = std::max(a.rows, (std::min(t0 + kTaps, a.taps) - 1) / a.kernel_w - t0 / a.kernel_w + 1);
  }
  const int64_t span = int64_t{kSeg - 1} * a.stride_w + int64_t{a.kernel_w - 1} * a.dil_w + 1;
  const int64_t chan = int64_t{a.rows} * span;
  const int64_t chan_pitch = chan + (4 - chan % 32 + 32) % 32;
  const int64_t stage_floats = int64_t{kM} * kAPitch + kN * chan_pitch;
  const int64_t smem = std::max<int64_t>(kWarps * kStages * stage_floats, int64_t{kWarps} * kTaps * kM * kN) * 4;
  const cudaDeviceProp* props = at::cuda::getCurrentDeviceProperties();
  if (smem > int64_t(props->sharedMemPerBlockOptin)) return false;
  a.span = int(span), a.chan_pitch = int(chan_pitch), a.stage_floats = int(stage_floats);

  a.m_tiles = (a.opg + kM - 1) / kM, a.n_tiles = (a.ipg + kN - 1) / kN, a.tap_chunks = (a.taps + kTaps - 1) / kTaps;
  const int64_t tiles = groups * a.m_tiles * a.n_tiles * a.tap_chunks;
  if (tiles >= (int64_t{1} << 31)) return false;
  // One wave: as many slices as fill the GPU's resident blocks, none shorter than 8 steps per warp.
  const int64_t resident = int64_t{props->multiProcessorCount} *
                           std::max<int64_t>(1, std::min<int64_t>(props->sharedMemPerMultiprocessor / (smem + 1024),
                                                                  props->maxThreadsPerMultiProcessor / kThreads));
  const int64_t slices = std::clamp<int64_t>(
      std::min(resident / tiles, (a.steps + 8 * kWarps - 1) / (8 * kWarps)), 1, 65535);
  a.steps_per_block = (a.steps + slices - 1) / slices;
  const int64_t used_slices = (a.steps + a.steps_per_block - 1) / a.steps_per_block;
  const at::Tensor partial = at::empty({used_slices, a.numel}, gw.options().dtype(at::kFloat));
  a.partial = partial.mutable_data_ptr<float>();

  auto kernel = split ? weight_grad_tf32_kernel<kMW, kNW, kTaps, true> : weight_grad_tf32_kernel<kMW, kNW, kTaps, false>;
  C10_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  kernel<<<dim3(unsigned(tiles), unsigned(used_slices)), kThreads, size_t(smem), at::cuda::getCurrentCUDAStream()>>>(
      a);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  sum_weight_grad_slices(partial, gw);
  return true;
}

}  // namespace

bool conv2d_weight_grad_tensor_core(const Conv2dGeometry& g, const at::Tensor& x, const at::Tensor& gy, at::Tensor& gw,
                                    bool full_fp32) {
  if (at::cuda::getCurrentDeviceProperties()->major < 8) return false;
  const int64_t steps = g.batch * g.out_h * ((g.out_w + kSeg - 1) / kSeg);
  constexpr int64_t kIntMax = (int64_t{1} << 31) - 1;
  if (steps == 0 || g.in_h * g.in_w > kIntMax || g.out_h * g.out_w > kIntMax ||
      std::max({g.in_channels, g.out_channels, g.kernel_h * g.kernel_w}) > kIntMax ||
      std::max({g.stride_w, g.dil_w, g.pad_w, g.pad_h, g.stride_h, g.dil_h}) > (1 << 20)) {
    return false;
  }
  WeightGradArgs a{};
  a.x = x.const_data_ptr<float>(), a.gy = gy.const_data_ptr<float>();
  a.steps = steps, a.numel = gw.numel();
  a.in_channels = int(g.in_channels), a.in_h = int(g.in_h), a.in_w = int(g.in_w);
  a.out_channels = int(g.out_channels), a.out_h = int(g.out_h), a.out_w = int(g.out_w);
  a.ipg = int(g.in_per_group()), a.opg = int(g.out_per_group());
  a.kernel_w = int(g.kernel_w), a.taps = int(g.kernel_h * g.kernel_w);
  a.stride_h = int(g.stride_h), a.stride_w = int(g.stride_w), a.pad_h = int(g.pad_h), a.pad_w = int(g.pad_w);
  a.dil_h = int(g.dil_h), a.dil_w = int(g.dil_w);
  a.segs = int((g.out_w + kSeg - 1) / kSeg);

  // Taps per block: all of them up to 9; beyond, chunks of 9 or 5, whichever wastes fewer tap slots (ties: 9, fewer
  // re-reads of gy).
  int tap_chunk = 9;
  if (a.taps <= 5) {
    tap_chunk = a.taps == 1 ? 1 : a.taps <= 3 ? 3 : 5;
  } else if (a.taps > 9 && (a.taps + 4) / 5 * 5 < (a.taps + 8) / 9 * 9) {
    tap_chunk = 5;
  }
  // Warp tiles: the largest whose accumulators (kMW x kNW x 4 x taps floats per thread) stay near 100 registers and
  // that the group's channels fill.
  const bool wide = a.opg > 16 && a.ipg > 8;
  switch (tap_chunk) {
    case 9:
      return launch<1, 1, 9>(a, g.groups, full_fp32, gw);
    case 5:
      return wide ? launch<2, 2, 5>(a, g.groups, full_fp32, gw) : launch<1, 1, 5>(a, g.groups, full_fp32, gw);
    case 3:
      if (wide && a.ipg > 16) return launch<2, 4, 3>(a, g.groups, full_fp32, gw);
      return wide ? launch<2, 2, 3>(a, g.groups, full_fp32, gw) : launch<1, 1, 3>(a, g.groups, full_fp32, gw);
    default:
      if (wide && a.ipg > 16) return launch<2, 4, 1>(a, g.groups, full_fp32, gw);
      return wide ? launch<2, 2, 1>(a, g.groups, full_fp32, gw) : launch<1, 1, 1>(a, g.groups, full_fp32, gw);
  }
}

}  // namespace fusedops
