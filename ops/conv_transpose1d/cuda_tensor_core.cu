// conv_transpose1d forward for float32 on tensor cores: an implicit GEMM per (batch, group).
//
// The output splits into `stride` phases r = t mod stride. Within a phase, output u (t = r + stride * u)
// reads input l = u + c_k for each tap k with (r + padding - k * dilation) divisible by stride,
// c_k = (r + padding - k * dilation) / stride, so each phase is a stride-1 correlation and no
// multiply is spent on taps that do not land on it. A block computes kTileM output channels x
// kTileU u-columns of every phase, i.e. stride * kTileU contiguous outputs: GEMM M = C_out/groups,
// N = u, K = C_in/groups x taps, one phase after the other.
//
// A pipeline stage holds, for one or two 8-channel chunks, (a) the input slab covering the tile plus
// the taps' halo, read once from PyTorch's (N, C, L) layout and shared by every tap, stored with
// channels c and c + 4 side by side so a B fragment is one 8-byte load; (b) the chunks' weights,
// pre-packed in mma A-fragment order (one 16-byte load per fragment). kStages deep with cp.async, the
// pipeline running across phase boundaries. The accumulators go through a shared-memory tile so that
// the output is written in whole, coalesced rows; with a single computed phase that tile reuses the
// stage buffers, which keeps two blocks resident per SM. (A persistent variant that pipelined across tiles needed a
// separate tile, fit one block per SM, and ran slower: bench/NOTES.md.)
// mma.sync m16n8k8 TF32 with float32 accumulation; with full_fp32 the operands are split into TF32
// hi + lo parts and each product is hi*hi + hi*lo + lo*hi (3xTF32), which keeps float32 accuracy.
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>

#include <algorithm>
#include <climits>

#include "ops/common/cuda_launch.cuh"
#include "ops/common/mma_tf32.cuh"
#include "ops/common/tensors.h"
#include "ops/conv_transpose1d/cuda_tensor_core.cuh"

namespace fusedops {
namespace {

constexpr int kThreads = 256;  // 8 warps: 2 along C_out x 4 along u
constexpr int kChunk = 8;      // input channels of one mma step (its K) and of the weight packing

// Chunks per pipeline stage. Two halve the barriers per mma (TF32: 1.2-1.25x on H100); with 3xTF32 the
// doubled weights would leave room for one block per SM only, which costs more than the barriers.
__host__ __device__ constexpr int sub_chunks(bool split) { return split ? 1 : 2; }
constexpr int kStages = 3;
constexpr int kTileU = 128;    // u-columns per block (per phase)
constexpr int kMaxStride = 32;  // phases tracked in one 32-bit mask
constexpr int kMaxPhaseTaps = 256;  // (phase, tap) table entries passed with the arguments

struct TensorCoreArgs {
  const float* x;
  const float* w_hi;  // packed weights (pack_weights_kernel)
  const float* w_lo;
  const float* bias;  // nullptr when there is none
  float* out;
  int64_t in_channels, length, out_channels, out_length;
  int taps, in_per_group, out_per_group, m16_tiles, chunks, groups;
  int stride;
  int m_tiles, t_tiles, slab_len, slab_pairs;  // slab_pairs: row stride of the slab in float2
  int out_tile_offset, out_tile_stride;        // the accumulator tile in shared memory (floats)
  // The phases some tap lands on (the others hold the bias alone), computed once on the host:
  // phase_id[p] for p < phase_count, the first input column read (relative to u0), and for each tap
  // the slab column of u_local = 0, or -1 when the tap skips the phase.
  uint32_t phase_mask;
  int phase_count;
  int phase_id[kMaxStride];
  int phase_base[kMaxStride];
  int tap_offset[kMaxPhaseTaps];
};

inline int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Fills the phase table of `args` (see TensorCoreArgs); false when it does not fit there. The caller
// has checked stride <= kMaxStride.
bool plan_phases(TensorCoreArgs& args, int padding, int taps, int dilation, int stride) {
  if (stride * taps > kMaxPhaseTaps) return false;
  args.phase_mask = 0;
  args.phase_count = 0;
  for (int r = 0; r < stride; ++r) {
    const int p = args.phase_count;
    // The smallest input column any tap can read: the last tap reaches furthest back.
    const int base = floor_div(r + padding - (taps - 1) * dilation, stride);
    bool any = false;
    for (int k = 0; k < taps; ++k) {
      const int num = r + padding - k * dilation - base * stride;  // >= 0
      args.tap_offset[p * taps + k] = num % stride == 0 ? num / stride : -1;
      any |= num % stride == 0;
    }
    if (!any) continue;
    args.phase_mask |= 1u << r;
    args.phase_id[p] = r;
    args.phase_base[p] = base;
    ++args.phase_count;
  }
  return true;
}

// Packed weights: [group][chunk][tap][16-row tile of C_out][lane][4], the 4 values lane needs for the
// A fragment of m16n8k8 (rows lane/4 and lane/4 + 8, columns lane%4 and lane%4 + 4), rounded to TF32
// (hi) with the rounding error in lo, zero past the real channels.
__global__ void pack_weights_kernel(const float* __restrict__ w, float* __restrict__ hi, float* __restrict__ lo,
                                    int64_t total, int taps, int in_per_group, int out_per_group, int m16_tiles,
                                    int chunks) {
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int e = static_cast<int>(i % 4), lane = static_cast<int>(i / 4 % 32);
    int64_t r = i / 128;
    const int mt = static_cast<int>(r % m16_tiles);
    r /= m16_tiles;
    const int k = static_cast<int>(r % taps);
    r /= taps;
    const int chunk = static_cast<int>(r % chunks);
    const int64_t g = r / chunks;
    const int m = mt * 16 + lane / 4 + (e % 2) * 8;
    const int ci = chunk * kChunk + lane % 4 + (e / 2) * 4;
    const float v = (ci < in_per_group && m < out_per_group)
                        ? w[((g * in_per_group + ci) * out_per_group + m) * taps + k]
                        : 0.f;
    const float big = __uint_as_float(to_tf32(v));
    hi[i] = big;
    if (lo != nullptr) lo[i] = __uint_as_float(to_tf32(v - big));
  }
}

template <int kTileM, bool kSplit>
__global__ void __launch_bounds__(kThreads, 2) conv_transpose1d_tf32_kernel(const TensorCoreArgs args) {
#ifdef FUSEDOPS_HAS_MMA_TF32
  constexpr int kWarpM = kTileM / 2, kWarpU = kTileU / 4;
  constexpr int kMTiles = kWarpM / 16, kNTiles = kWarpU / 8;
  constexpr int kWFloatsPerTap = kTileM * kChunk;
  constexpr int kSubChunks = sub_chunks(kSplit);
  extern __shared__ __align__(16) float smem[];

  const int s = args.stride, taps = args.taps, chunks = args.chunks;
  const int x_floats = kSubChunks * kChunk * args.slab_pairs;
  const int w_floats = kSubChunks * taps * kWFloatsPerTap;
  const int stage_floats = x_floats + w_floats * (kSplit ? 2 : 1);
  float* out_tile = smem + args.out_tile_offset;

  // Block -> (batch, group, output tile, channel tile), the channel tile fastest so that blocks
  // sharing an input slab run together.
  int64_t id = blockIdx.x;
  const int m0 = static_cast<int>(id % args.m_tiles) * kTileM;
  id /= args.m_tiles;
  const int64_t u0 = (id % args.t_tiles) * kTileU;
  id /= args.t_tiles;
  const int g = static_cast<int>(id % args.groups);
  const int64_t n = id / args.groups;

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int gq = lane / 4, tq = lane % 4;  // mma fragment coordinates
  const int wm0 = (warp % 2) * kWarpM, wu0 = (warp / 2) * kWarpU;
  const float* x_group = args.x + (n * args.in_channels + int64_t{g} * args.in_per_group) * args.length;
  const int64_t w_group = int64_t{g} * chunks * taps;

  // One pipeline step = one (phase, stage of kSubChunks chunks): step = phase_ord * stages + stage.
  const int stages = chunks / kSubChunks;  // chunks is a multiple of kSubChunks (zero-padded)
  const int steps = args.phase_count * stages;
  auto load_stage = [&](int step, int buf) {
    const int phase_ord = step / stages, chunk = step % stages * kSubChunks;
    float* x_s = smem + buf * stage_floats;
    const int64_t l_first = u0 + args.phase_base[phase_ord];
    // Columns [valid_begin, valid_end) lie inside the input row; the rest are zero-filled.
    const int valid_begin = static_cast<int>(std::min<int64_t>(std::max<int64_t>(-l_first, 0), args.slab_len));
    const int valid_end =
        static_cast<int>(std::max<int64_t>(std::min<int64_t>(args.length - l_first, args.slab_len), 0));
    // Each warp copies whole input rows (channels), one per chunk of the stage.
#pragma unroll
    for (int sub = 0; sub < kSubChunks; ++sub) {
      const int ci = (chunk + sub) * kChunk + warp;
      const float* src_row = x_group + int64_t{ci} * args.length + l_first;  // slab column 0
      const int row_end = ci < args.in_per_group ? valid_end : 0;
      float* x_row = x_s + sub * kChunk * args.slab_pairs + (warp % 4) * 2 * args.slab_pairs + warp / 4;
      for (int j = lane; j < args.slab_len; j += 32) {
        const bool valid = j >= valid_begin && j < row_end;
        cp_async4(x_row + 2 * j, valid ? src_row + j : args.x, valid);
      }
    }
    // The stage's weights: for each (chunk, tap), kTileM * kChunk floats, tap_stride apart.
    const int64_t tap_stride = int64_t{args.m16_tiles} * 128;
    const float* w_hi = args.w_hi + ((w_group + int64_t{chunk} * taps) * args.m16_tiles + m0 / 16) * 128;
    const float* w_lo = kSplit ? args.w_lo + (w_hi - args.w_hi) : nullptr;
    float* w_s = x_s + x_floats;
    if (tap_stride == kWFloatsPerTap) {  // one channel tile: the stage is one contiguous run
      for (int e = tid * 4; e < w_floats; e += kThreads * 4) {
        cp_async16(w_s + e, w_hi + e);
        if (kSplit) cp_async16(w_s + w_floats + e, w_lo + e);
      }
    } else {
      for (int e = tid; e < kSubChunks * taps * kWFloatsPerTap / 4; e += kThreads) {
        const int k = e / (kWFloatsPerTap / 4), v = e % (kWFloatsPerTap / 4) * 4;
        cp_async16(w_s + k * kWFloatsPerTap + v, w_hi + k * tap_stride + v);
        if (kSplit) cp_async16(w_s + w_floats + k * kWFloatsPerTap + v, w_lo + k * tap_stride + v);
      }
    }
  };

#pragma unroll
  for (int i = 0; i < kStages - 1; ++i) {
    if (i < steps) load_stage(i, i);
    cp_async_commit();
  }
  float acc[kMTiles][kNTiles][4] = {};
  for (int i = 0; i < steps; ++i) {
    cp_async_wait<kStages - 2>();
    __syncthreads();  // step i visible to all; the buffer refilled below is no longer read
    if (i + kStages - 1 < steps) load_stage(i + kStages - 1, (i + kStages - 1) % kStages);
    cp_async_commit();

    const int phase_ord = i / stages;
    const int* tap_offset = args.tap_offset + phase_ord * taps;
    const float* x_s = smem + (i % kStages) * stage_floats;
    const float2* x_pairs = reinterpret_cast<const float2*>(x_s) + tq * args.slab_pairs + wu0 + gq;
    const float4* w_frag = reinterpret_cast<const float4*>(x_s + x_floats) + (wm0 / 16) * 32 + lane;
    for (int k = 0; k < taps; ++k) {
      const int offset = tap_offset[k];
      if (offset < 0) continue;
#pragma unroll
      for (int sub = 0; sub < kSubChunks; ++sub) {
        float4 a_hi[kMTiles], a_lo[kMTiles];
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
          const int frag = (sub * taps + k) * (kWFloatsPerTap / 4) + mt * 32;
          a_hi[mt] = w_frag[frag];
          if (kSplit) a_lo[mt] = w_frag[w_floats / 4 + frag];
        }
#pragma unroll
        for (int nt = 0; nt < kNTiles; ++nt) {
          const float2 v = x_pairs[sub * (kChunk / 2) * args.slab_pairs + nt * 8 + offset];
          const uint32_t b0 = to_tf32(v.x), b1 = to_tf32(v.y);
          uint32_t b0_lo = 0, b1_lo = 0;
          if (kSplit) b0_lo = to_tf32(v.x - __uint_as_float(b0)), b1_lo = to_tf32(v.y - __uint_as_float(b1));
#pragma unroll
          for (int mt = 0; mt < kMTiles; ++mt) {
            if (kSplit) {
              mma_tf32(acc[mt][nt], a_lo[mt], b0, b1);
              mma_tf32(acc[mt][nt], a_hi[mt], b0_lo, b1_lo);
            }
            mma_tf32(acc[mt][nt], a_hi[mt], b0, b1);
          }
        }
      }
    }
    if (i % stages != stages - 1) continue;

    // The phase is complete: its columns of the tile (t - t0 = phase + stride * u_local), then afresh.
    if (args.out_tile_offset == 0) {  // the tile shares the stage buffers: every warp must be done with them
      cp_async_wait<0>();
      __syncthreads();
    }
    const int phase = args.phase_id[phase_ord];
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
      for (int nt = 0; nt < kNTiles; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int row = wm0 + mt * 16 + gq + (e / 2) * 8, u = wu0 + nt * 8 + 2 * tq + e % 2;
          out_tile[row * args.out_tile_stride + phase + s * u] = acc[mt][nt][e];
          acc[mt][nt][e] = 0.f;
        }
      }
    }
  }
  cp_async_wait<0>();
  __syncthreads();

  // + bias, whole rows to (N, C_out, L_out); a phase no tap reaches holds the bias alone.
  const int64_t t0 = u0 * s;
  const int cols = static_cast<int>(std::min<int64_t>(s * kTileU, args.out_length - t0));
  float* out_group = args.out + (n * args.out_channels + int64_t{g} * args.out_per_group) * args.out_length + t0;
  for (int row = warp; row < kTileM && m0 + row < args.out_per_group; row += kThreads / 32) {
    const int co = m0 + row;
    const float b = args.bias != nullptr ? args.bias[int64_t{g} * args.out_per_group + co] : 0.f;
    float* out_row = out_group + int64_t{co} * args.out_length;
    if (s == 1) {  // one phase, always computed: no per-column phase test
      for (int col = lane; col < cols; col += 32) out_row[col] = out_tile[row * args.out_tile_stride + col] + b;
      continue;
    }
    for (int col = lane; col < cols; col += 32) {
      const bool computed = args.phase_mask >> (col % s) & 1u;
      out_row[col] = (computed ? out_tile[row * args.out_tile_stride + col] : 0.f) + b;
    }
  }
#endif
}

template <int kTileM>
void launch(const TensorCoreArgs& args, int64_t blocks, size_t smem_bytes, cudaStream_t stream, bool split) {
  auto* kernel = split ? conv_transpose1d_tf32_kernel<kTileM, true> : conv_transpose1d_tf32_kernel<kTileM, false>;
  C10_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem_bytes)));
  kernel<<<static_cast<unsigned>(blocks), kThreads, smem_bytes, stream>>>(args);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

}  // namespace

bool conv_transpose1d_forward_tensor_core(const ConvTranspose1dShape& s, const at::Tensor& input,
                                          const at::Tensor& weight, const at::Tensor& bias, at::Tensor& out,
                                          bool full_fp32) {
  const cudaDeviceProp* props = at::cuda::getCurrentDeviceProperties();
  if (props->major < 8) return false;
  const int tile_m = s.out_per_group > 64 ? 128 : 64;
  const int64_t halo = (s.kernel - 1) * s.p.dilation;
  if (s.p.stride > kMaxStride || halo > INT_MAX / 4 || s.p.padding > INT_MAX / 4) return false;
  const int stride = static_cast<int>(s.p.stride);
  const int64_t slab_len = kTileU + (halo + stride - 1) / stride;
  // Pair-row stride = 4 (mod 16) float2: the 8-byte fragment loads of a half-warp hit 32 distinct banks.
  const int64_t slab_pairs = (slab_len + 11) / 16 * 16 + 4;
  const int64_t stage_floats =
      sub_chunks(full_fp32) * kChunk * (slab_pairs + s.kernel * tile_m * (full_fp32 ? 2 : 1));
  const int64_t out_tile_stride = stride * kTileU + 4;
  TensorCoreArgs args{};
  if (!plan_phases(args, static_cast<int>(s.p.padding), static_cast<int>(s.kernel), static_cast<int>(s.p.dilation),
                   stride)) {
    return false;
  }
  // With one computed phase the tile is filled after the pipeline is done and can share its buffers.
  const int64_t out_tile_offset = args.phase_count == 1 ? 0 : kStages * stage_floats;
  const size_t smem_bytes =
      std::max(kStages * stage_floats, out_tile_offset + tile_m * out_tile_stride) * sizeof(float);
  const int64_t m_tiles = (s.out_per_group + tile_m - 1) / tile_m;
  const int64_t t_tiles = (s.out_length + stride * kTileU - 1) / (stride * kTileU);
  const int64_t blocks = s.batch * s.p.groups * t_tiles * m_tiles;
  if (smem_bytes > props->sharedMemPerBlockOptin || blocks > INT_MAX) return false;

  // Chunks of kChunk input channels, padded (with zero weights) to whole stages.
  const int stage_channels = kChunk * sub_chunks(full_fp32);
  const int chunks =
      static_cast<int>((s.in_per_group + stage_channels - 1) / stage_channels * sub_chunks(full_fp32));
  const int m16_tiles = static_cast<int>(m_tiles * tile_m / 16);
  const int64_t packed = s.p.groups * chunks * s.kernel * m16_tiles * 128;
  const at::Tensor w_hi = at::empty({packed}, weight.options());
  const at::Tensor w_lo = full_fp32 ? at::empty({packed}, weight.options()) : at::Tensor();
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  pack_weights_kernel<<<grid_stride_blocks(packed, 256, 4), 256, 0, stream>>>(
      weight.const_data_ptr<float>(), w_hi.mutable_data_ptr<float>(),
      full_fp32 ? w_lo.mutable_data_ptr<float>() : nullptr, packed, static_cast<int>(s.kernel),
      static_cast<int>(s.in_per_group), static_cast<int>(s.out_per_group), m16_tiles, chunks);
  C10_CUDA_KERNEL_LAUNCH_CHECK();

  args.x = input.const_data_ptr<float>();
  args.w_hi = w_hi.const_data_ptr<float>();
  args.w_lo = full_fp32 ? w_lo.const_data_ptr<float>() : nullptr;
  args.bias = data_or_null<float>(bias);
  args.out = out.mutable_data_ptr<float>();
  args.in_channels = s.in_channels;
  args.length = s.length;
  args.out_channels = s.out_channels;
  args.out_length = s.out_length;
  args.taps = static_cast<int>(s.kernel);
  args.in_per_group = static_cast<int>(s.in_per_group);
  args.out_per_group = static_cast<int>(s.out_per_group);
  args.m16_tiles = m16_tiles;
  args.chunks = chunks;
  args.groups = static_cast<int>(s.p.groups);
  args.stride = stride;
  args.m_tiles = static_cast<int>(m_tiles);
  args.t_tiles = static_cast<int>(t_tiles);
  args.slab_len = static_cast<int>(slab_len);
  args.slab_pairs = static_cast<int>(slab_pairs);
  args.out_tile_offset = static_cast<int>(out_tile_offset);
  args.out_tile_stride = static_cast<int>(out_tile_stride);
  if (tile_m == 128) {
    launch<128>(args, blocks, smem_bytes, stream, full_fp32);
  } else {
    launch<64>(args, blocks, smem_bytes, stream, full_fp32);
  }
  return true;
}

}  // namespace fusedops
