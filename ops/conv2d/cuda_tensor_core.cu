// The unit-stride convolutions (conv2d's forward and the transposed convolution) for float32 on tensor cores: an
// implicit GEMM per (image, group).
//
// Both are one stride-1 correlation: dst[d, p, q] = bias[d] + sum over (r, a, b) of W'[d, r, a, b] *
// src[r, p + a * dil_h - pad_h, q + b * dil_w - pad_w], zero outside src. The forward is that as it stands; the
// transposed convolution has its kernel flipped (by the weight packing) and pad = (k - 1) * dil - padding, negative
// when it crops. GEMM: M = output pixels, flattened over the image (p * dst_w + q) so that narrow images still fill
// whole tiles; N = the group's dst channels; K = its reduction channels (chunks of 8) x taps. Pixels rather than
// channels on M keep each MMA full when a group has only 8 dst channels.
//
// A pipeline step is a block of kernel rows (all of them when their weights are small) of one 8-channel chunk, or of
// up to four chunks when every row fits:
// (a) the input patch that the tile's pixels read through those rows, stored as rows of `pitch` columns one after the
// other, so that a pixel's patch offset plus one constant per tap addresses every tap; (b) the taps' weights for the
// block's channel tile, pre-packed in mma B-fragment order (two n-tiles per 16-byte load; K-major for wgmma) and laid
// out so that one step's are one contiguous run, rounded to TF32 with the rounding error kept for 3xTF32. Unlike
// conv_transpose1d's slab, channels are not interleaved in pairs: each channel's patch is contiguous so that it is
// copied in 16-byte cp.async, which is what the memory-bound narrow convolutions need (pitch = src_w mod 4 keeps global
// and shared alignment in step; each channel row is shifted by its own phase; only quads that straddle an image edge
// or, when src_w is not a multiple of 4, a patch row go element by element; zero-filled outside src). An A fragment
// then takes four 4-byte loads. In TF32 mode each thread rounds the patch elements it copied once they land, so the
// MMAs read them as they are. Two or three steps are in flight (the planner trades pipeline depth for kernel rows and
// chunks per step, which amortize a step's barrier and bookkeeping over more MMAs); the accumulators go through a
// shared-memory tile (reusing the stage buffers) so that each dst channel's run of pixels is written coalesced.
// mma.sync m16n8k8 with float32 accumulation; with full_fp32 each product is hi*hi + hi*lo + lo*hi (3xTF32). On Hopper
// (sm_90a builds), groups of more than 64 dst channels take wgmma instead: each warpgroup multiplies its 64-pixel
// blocks by the chunk's whole 128-channel weight tile, A from registers (the same fragments) and B straight from the
// stage, so that per tap a warp issues one instruction per 64 x 128 x 8 product instead of sixteen.
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>

#include <ATen/cuda/detail/IntegerDivider.cuh>
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <initializer_list>

#include "ops/common/cuda_launch.cuh"
#include "ops/common/mma_tf32.cuh"
#include "ops/common/tensors.h"
#include "ops/conv2d/cuda_tensor_core.cuh"

namespace fusedops {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kChunk = 8;  // reduction channels of one mma step (its K)
static_assert(kWarps == kChunk, "each warp copies one channel of the chunk's patch");
// Shared-memory floats of one tap's weights: the tile's channels, whole 16-channel packing units.
__host__ __device__ constexpr int tap_floats(int tile_n) { return (tile_n < 16 ? 16 : tile_n) * kChunk; }
// Blocks per SM that a tile shape is sized for (registers by __launch_bounds__, shared memory by the planning), by its
// accumulators per thread: the narrow tiles are memory-bound and need more loads in flight; the widest keeps 128.
constexpr int min_blocks(int tile_n, int warps_n, int m_tiles) {
  return m_tiles * (tile_n / warps_n / 8) * 4 <= 16 ? 4 : m_tiles * (tile_n / warps_n / 8) * 4 <= 64 ? 2 : 1;
}

using Divider = at::cuda::detail::IntDivider<unsigned>;

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// A shared-memory load at a 32-bit address: the A fragment's addresses advance by one add per tap.
__device__ __forceinline__ float load_shared(unsigned address) {
  return *static_cast<const float*>(__cvta_shared_to_generic(address));
}

struct TensorCoreArgs {
  const float* src;
  const float* w_hi;  // packed weights (pack_weights_kernel); also the 16-byte aligned address of zero-fills
  const float* w_lo;  // nullptr unless 3xTF32
  const float* bias;  // nullptr when there is none
  float* dst;
  float* moments;  // nullptr, or dst's tile moments (TileMoments: one tile per block's pixel range)
  int src_channels, src_h, src_w, dst_channels, dst_h, dst_w;
  int red_per_group, dst_per_group, groups;
  int kernel_h, kernel_w, dil_h, dil_w;
  int pad_h, pad_w;  // the correlation's; pad_w counts the patch rows' lead columns too
  // Steps: blocks of chunks_per_step chunks x blocks of rows_per_step kernel rows (several chunks only when a step
  // holds every kernel row, so that its weights are one contiguous run).
  int chunks, chunks_per_step, rows_per_step, row_blocks;
  int stages;            // steps in flight: 2 or 3
  int n_tiles, p_tiles;  // block tiles along dst channels and pixels
  // Patch rows: `lead` columns before the tile's first (with src_w = 0 (mod 4) they put the src rows' 16-byte quads on
  // the patch rows' quads), pitch >= lead + dst_w + (kernel_w - 1) * dil_w columns in all, = src_w (mod 4).
  int lead, pitch;
  int slab_stride;                   // floats per channel of the patch, = 8 (mod 32)
  int stage_floats, stage_w_floats;  // one step's shared memory; its weights (hi, then lo)
  Divider pitch_div, dst_w_div, row_blocks_div;
};

// Packed weights: [group][channel tile][chunk][tap][the tap's tap_floats], rounded to TF32 (hi) with the rounding
// error in lo, zero past the real channels; taps a * kW + b in the correlation's order, so that a step's weights
// (consecutive taps of one chunk, or every tap of consecutive chunks) are one contiguous run. A tap's floats are, for
// mma.sync, [16-channel unit of the tile][lane][4]: for the lane the B fragments of two m16n8k8 n-tiles (dst channels
// 16 unit + lane/4 and 16 unit + 8 + lane/4, reduction channels lane%4 and lane%4 + 4 of the chunk); for wgmma
// (`k_major`), [reduction channels 0-3, 4-7][dst channel][4]: the K-major B operand of wgmma_descriptor(k_stride = 16 x
// tile channels bytes, mn_stride = 128 bytes).
__global__ void pack_weights_kernel(const float* __restrict__ w, float* __restrict__ hi, float* __restrict__ lo,
                                    int64_t total, int taps, int red_per_group, int dst_per_group, int tile_n,
                                    int n_tiles, int chunks, bool k_major, const WeightLayout layout) {
  const int floats_per_tap = tap_floats(tile_n), tile_channels = floats_per_tap / kChunk;
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int in_tap = static_cast<int>(i % floats_per_tap);
    int64_t r = i / floats_per_tap;
    const int tap = static_cast<int>(r % taps);
    r /= taps;
    const int chunk = static_cast<int>(r % chunks);
    r /= chunks;
    const int n_tile = static_cast<int>(r % n_tiles);
    const int64_t g = r / n_tiles;
    const int e = in_tap % 4, lane = in_tap / 4 % 32;
    const int d =
        n_tile * tile_channels + (k_major ? in_tap / 4 % tile_channels : in_tap / 128 * 16 + lane / 4 + (e / 2) * 8);
    const int k = chunk * kChunk + (k_major ? in_tap / (4 * tile_channels) * 4 + e : lane % 4 + (e % 2) * 4);
    const float v =
        (d < dst_per_group && k < red_per_group)
            ? w[g * layout.w_group + d * layout.w_dst + k * layout.w_red + (layout.flip ? taps - 1 - tap : tap)]
            : 0.f;
    const float big = __uint_as_float(to_tf32(v));
    hi[i] = big;
    if (lo != nullptr) lo[i] = __uint_as_float(to_tf32(v - big));
  }
}

// A block: kTileN dst channels x kTileP consecutive pixels of one image and group; warps kWarpsN along channels, the
// rest along pixels, each warp kMTiles m-tiles (16 pixels) x kNTiles n-tiles (8 channels). With kWgmma (Hopper), the
// two warpgroups take half the pixels each, every warp all the channels, and each m-tile of a warp is its 16 rows of
// one 64 x 128 wgmma.
template <int kTileN, int kWarpsN, int kMTiles, bool kSplit, bool kWgmma>
__global__ void __launch_bounds__(kThreads, min_blocks(kTileN, kWarpsN, kMTiles))
    conv2d_tf32_kernel(const TensorCoreArgs args) {
#ifdef FUSEDOPS_HAS_MMA_TF32
  constexpr int kWarpN = kTileN / kWarpsN, kNTiles = kWarpN / 8;
  constexpr int kWarpP = 16 * kMTiles, kTileP = kWarps / kWarpsN * kWarpP;
  constexpr int kTapFloats = tap_floats(kTileN);
  constexpr int kTileStride = kTileP + 4;  // accumulator tile row: = 4 (mod 32), conflict-free fragment stores
  static_assert(kWarpN % 16 == 0 || kWarpsN == 1, "a warp's channels start at a 16-channel packing unit");
  static_assert(!kWgmma || (kTileN == 128 && kWarpsN == 1), "wgmma tiles: 128 channels, every warp all of them");
  extern __shared__ __align__(16) float smem[];

  // Block -> (image, group, pixel tile, channel tile), the channel tile fastest so that blocks sharing a patch run
  // together.
  int64_t id = blockIdx.x;
  const int n_tile = static_cast<int>(id % args.n_tiles), n0 = n_tile * kTileN;
  id /= args.n_tiles;
  const int p0 = static_cast<int>(id % args.p_tiles) * kTileP;
  id /= args.p_tiles;
  const int g = static_cast<int>(id % args.groups);
  const int64_t n = id / args.groups;

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int gq = lane / 4, tq = lane % 4;  // mma fragment coordinates
  const int wn0 = warp % kWarpsN * kWarpN;
  // The tile row (pixel) of m-tile mt's first row for this warp.
  auto m_row = [&](int mt) {
    return kWgmma ? warp / 4 * (kTileP / 2) + mt * 64 + warp % 4 * 16 : warp / kWarpsN * kWarpP + mt * 16;
  };
  const int src_w = args.src_w, pitch = args.pitch, kernel_w = args.kernel_w;
  const int src_plane = args.src_h * src_w, dst_plane = args.dst_h * args.dst_w;

  // A step's patch: row r holds src row row0 + r, column m src column m - pad_w; element f = r * pitch + m of the
  // whole patch. The tile's pixels p0..p_last span output rows oh_first..; pixel (oh, ow) reads tap (a0, 0) at
  // f = f_first + (oh - oh_first) * pitch + ow - ow_first and tap (a0 + a, b) a * dil_h * pitch + b * dil_w further.
  const int p_last = min(p0 + kTileP, dst_plane) - 1;
  const auto first = args.dst_w_div.divmod(p0), last = args.dst_w_div.divmod(p_last);
  const int oh_first = first.div, ow_first = first.mod, f_first = ow_first + args.lead;
  // Patch elements (from f_first) that one kernel row reads.
  const int span = (last.div - oh_first) * pitch + last.mod + (kernel_w - 1) * args.dil_w + 1 - ow_first;
  int pix[kMTiles][2];  // this thread's A rows, pixels gq and gq + 8 of each m-tile (past the image: its last pixel)
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const auto q = args.dst_w_div.divmod(min(p0 + m_row(mt) + gq + 8 * h, p_last));
      pix[mt][h] = (q.div - oh_first) * pitch + q.mod - ow_first;
    }
  }

  const float* src_group = args.src + (n * args.src_channels + int64_t{g} * args.red_per_group) * src_plane;
  // The phase (float address mod 4) of channel c's patch start when its first row is src row row0: that row's
  // shift in shared memory, so that 16-byte quads of src land on 16-byte quads there.
  const unsigned group_phase = static_cast<unsigned>(reinterpret_cast<uintptr_t>(src_group) / sizeof(float)) +
                               static_cast<unsigned>(f_first - args.pad_w);
  auto phase = [&](int c, int row0) {
    return static_cast<int>((group_phase + static_cast<unsigned>(c) * src_plane + static_cast<unsigned>(row0) * src_w) &
                            3u);
  };

  const int taps = args.kernel_h * kernel_w;
  const int64_t w_block = (int64_t{g} * args.n_tiles + n_tile) * args.chunks * taps * kTapFloats;
  const int cps = args.chunks_per_step, stages = args.stages;
  const int steps = (args.chunks + cps - 1) / cps * args.row_blocks;
  // Step -> its first chunk and number of chunks, kernel rows a0 .. a0 + rows - 1, the src row of its patch's first
  // row, and the patch's end.
  struct Step {
    int chunk, chunks, a0, rows, row0, f_end;
  };
  auto step_of = [&](int step) {
    Step s;
    const auto q = args.row_blocks_div.divmod(static_cast<unsigned>(step));
    s.chunk = static_cast<int>(q.div) * cps;
    s.chunks = min(cps, args.chunks - s.chunk);
    s.a0 = static_cast<int>(q.mod) * args.rows_per_step;
    s.rows = min(args.rows_per_step, args.kernel_h - s.a0);
    s.row0 = oh_first + s.a0 * args.dil_h - args.pad_h;
    s.f_end = f_first + span + (s.rows - 1) * args.dil_h * pitch;
    return s;
  };
  auto load_step = [&](int step, int buf) {
    const Step s = step_of(step);
    float* x_s = smem + buf * args.stage_floats;
    // Warp w copies channel w of each chunk, each lane the quads f0 + 4 lane + 128 k.
    for (int chunk_in_step = 0; chunk_in_step < s.chunks; ++chunk_in_step) {
      const int c = (s.chunk + chunk_in_step) * kChunk + warp;
      const bool channel_valid = c < args.red_per_group;
      const float* plane = src_group + int64_t{channel_valid ? c : 0} * src_plane;
      const int f0 = f_first - phase(c, s.row0);
      float* row_s = x_s + (chunk_in_step * kChunk + warp) * args.slab_stride;  // quad f at row_s + f - f0
      for (int f = f0 + 4 * lane; f < s.f_end; f += 128) {
        // One copy when the quad lies in one patch row and wholly inside src or wholly outside it.
        const auto rc = args.pitch_div.divmod(static_cast<unsigned>(max(f, 0)));
        const int row = s.row0 + static_cast<int>(rc.div), col = static_cast<int>(rc.mod) - args.pad_w;
        const bool row_in = channel_valid && row >= 0 && row < args.src_h;
        const bool inside = row_in && col >= 0 && col + 4 <= src_w;
        if (f >= 0 && static_cast<int>(rc.mod) + 4 <= pitch && (inside || !row_in || col + 4 <= 0 || col >= src_w)) {
          cp_async16(row_s + (f - f0), inside ? plane + row * src_w + col : args.w_hi, inside);
          continue;
        }
        for (int j = 0; j < 4; ++j) {
          const auto e = args.pitch_div.divmod(static_cast<unsigned>(max(f + j, 0)));
          const int er = s.row0 + static_cast<int>(e.div), ec = static_cast<int>(e.mod) - args.pad_w;
          const bool valid = channel_valid && f + j >= 0 && er >= 0 && er < args.src_h && ec >= 0 && ec < src_w;
          cp_async4(row_s + (f - f0) + j, valid ? plane + er * src_w + ec : args.src, valid);
        }
      }
    }
    // The weights of taps a0 * kW .. (a0 + rows) * kW - 1 of the step's chunks: one contiguous run.
    const int64_t w_first = w_block + (int64_t{s.chunk} * taps + s.a0 * kernel_w) * kTapFloats;
    const float* hi = args.w_hi + w_first;
    const float* lo = kSplit ? args.w_lo + w_first : nullptr;
    float* w_s = x_s + cps * kChunk * args.slab_stride;
    const int w_floats = s.chunks * s.rows * kernel_w * kTapFloats;
    for (int v = 4 * tid; v < w_floats; v += 4 * kThreads) {
      cp_async16(w_s + v, hi + v);
      if (kSplit) cp_async16(w_s + args.stage_w_floats + v, lo + v);
    }
  };

  for (int i = 0; i < stages - 1; ++i) {
    if (i < steps) load_step(i, i);
    cp_async_commit();
  }
  float acc[kMTiles][kNTiles][4] = {};
  for (int i = 0, buf = 0; i < steps; ++i, buf = buf + 1 == stages ? 0 : buf + 1) {
    if (stages == 3) {
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    const Step s = step_of(i);
    const float* x_s = smem + buf * args.stage_floats;
    if (!kSplit) {
      // This thread's copies of the step have landed: round them to TF32 in place, once for all the taps and warps
      // that read them (3xTF32 splits each value as it is read instead).
      const int f0 = f_first - phase(s.chunk * kChunk + warp, s.row0);  // every chunk's channel w: the same phase
      for (int chunk_in_step = 0; chunk_in_step < s.chunks; ++chunk_in_step) {
        float* row_s = smem + buf * args.stage_floats + (chunk_in_step * kChunk + warp) * args.slab_stride;
        for (int f = f0 + 4 * lane; f < s.f_end; f += 128) {
          float4* quad = reinterpret_cast<float4*>(row_s + (f - f0));
          float4 v = *quad;
          v.x = __uint_as_float(to_tf32(v.x)), v.y = __uint_as_float(to_tf32(v.y));
          v.z = __uint_as_float(to_tf32(v.z)), v.w = __uint_as_float(to_tf32(v.w));
          *quad = v;
        }
      }
    }
    if constexpr (kWgmma) fence_shared_for_wgmma();
    __syncthreads();  // step i visible to all; the buffer refilled below is no longer read
    // The buffer that step i - 1 used, which every warp has finished reading.
    if (i + stages - 1 < steps) load_step(i + stages - 1, buf == 0 ? stages - 1 : buf - 1);
    cp_async_commit();

    // The A fragment's columns: channel tq of the chunk, and channel tq + 4 four patch rows further (with the same
    // phase: their planes are 4 planes apart; so are the next chunk's, 8 rows further). Each of this thread's pixels
    // reads a tap at a pointer that moves by a uniform step from tap to tap.
    const unsigned xa = shared_address(x_s + tq * args.slab_stride + phase(s.chunk * kChunk + tq, s.row0));
    unsigned pa[kMTiles][2][2];  // byte addresses in shared memory
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        pa[mt][h][0] = xa + pix[mt][h] * sizeof(float);
        pa[mt][h][1] = pa[mt][h][0] + 4 * args.slab_stride * sizeof(float);
      }
    }
    // Pointer moves in floats: from a row's last tap to the next row's first, from a chunk's last tap to the next
    // chunk's first.
    const int row_step = args.dil_h * pitch - (kernel_w - 1) * args.dil_w;
    const int chunk_step = kChunk * args.slab_stride - (s.rows - 1) * args.dil_h * pitch - (kernel_w - 1) * args.dil_w;
    const int step_taps = s.chunks * s.rows * kernel_w;
    int b = 0, a = 0;  // the next tap's kernel column and row (from a0)
    // The next tap's A fragments (split into TF32 hi + lo for 3xTF32); the pixel pointers move on to the tap after.
    auto load_fragments = [&](uint32_t(&a_hi)[kMTiles][4], uint32_t(&a_lo)[kMTiles][4]) {
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt) {
        const float v[4] = {load_shared(pa[mt][0][0]), load_shared(pa[mt][1][0]), load_shared(pa[mt][0][1]),
                            load_shared(pa[mt][1][1])};
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          a_hi[mt][e] = kSplit ? to_tf32(v[e]) : __float_as_uint(v[e]);
          if (kSplit) a_lo[mt][e] = to_tf32(v[e] - __uint_as_float(a_hi[mt][e]));
        }
      }
      int step = args.dil_w;
      if (++b == kernel_w) b = 0, step = ++a < s.rows ? row_step : (a = 0, chunk_step);
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
        for (int h = 0; h < 4; ++h) pa[mt][h / 2][h % 2] += step * sizeof(float);
      }
    };
    if constexpr (kWgmma) {
      // Tap t: the warpgroup's 64-pixel blocks against all 128 channels, B straight from the stage. Two taps' fragments
      // alternate, so that the next tap's are loaded while this tap's wgmmas run; each set is reloaded only after the
      // wait that retires the wgmmas reading it.
      constexpr uint32_t kKStride = kTileN * 16, kNStride = 128;
      const unsigned w_shared = shared_address(x_s + cps * kChunk * args.slab_stride);
      auto issue = [&](const uint32_t(&a_hi)[kMTiles][4], const uint32_t(&a_lo)[kMTiles][4], int t) {
        const unsigned w_tap = w_shared + t * kTapFloats * sizeof(float);
        const uint64_t b_hi = wgmma_descriptor(w_tap, kKStride, kNStride);
        wgmma_fence();
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
          if constexpr (kSplit) {
            const uint64_t b_lo = wgmma_descriptor(w_tap + args.stage_w_floats * sizeof(float), kKStride, kNStride);
            wgmma_m64n128k8_tf32(acc[mt], a_lo[mt][0], a_lo[mt][1], a_lo[mt][2], a_lo[mt][3], b_hi);
            wgmma_m64n128k8_tf32(acc[mt], a_hi[mt][0], a_hi[mt][1], a_hi[mt][2], a_hi[mt][3], b_lo);
          }
          wgmma_m64n128k8_tf32(acc[mt], a_hi[mt][0], a_hi[mt][1], a_hi[mt][2], a_hi[mt][3], b_hi);
        }
        wgmma_commit();
      };
      uint32_t hi0[kMTiles][4], lo0[kMTiles][4], hi1[kMTiles][4] = {}, lo1[kMTiles][4] = {};
      load_fragments(hi0, lo0);
#pragma unroll 1
      for (int t = 0; t < step_taps; t += 2) {
        issue(hi0, lo0, t);
        wgmma_wait<1>();  // tap t - 1 done
        wgmma_retire(hi1);
        if constexpr (kSplit) wgmma_retire(lo1);
        if (t + 1 < step_taps) {
          load_fragments(hi1, lo1);
          issue(hi1, lo1, t + 1);
        }
        wgmma_wait<1>();  // tap t done (unless it was the step's last: then nothing is reloaded)
        wgmma_retire(hi0);
        if constexpr (kSplit) wgmma_retire(lo0);
        if (t + 2 < step_taps) load_fragments(hi0, lo0);
      }
      wgmma_wait<0>();  // the stage is refilled after the next barrier
    } else {
      const float* w_tap = x_s + cps * kChunk * args.slab_stride + wn0 / 16 * 128 + lane * 4;
#pragma unroll 1
      for (int t = 0; t < step_taps; ++t, w_tap += kTapFloats) {
        uint32_t a_hi[kMTiles][4], a_lo[kMTiles][4];
        load_fragments(a_hi, a_lo);
#pragma unroll
        for (int u = 0; u < (kNTiles + 1) / 2; ++u) {
          const float4 b_hi = *reinterpret_cast<const float4*>(w_tap + u * 128);
          float4 b_lo{};
          if (kSplit) b_lo = *reinterpret_cast<const float4*>(w_tap + args.stage_w_floats + u * 128);
#pragma unroll
          for (int half = 0; half < 2 && 2 * u + half < kNTiles; ++half) {
            const uint32_t b0 = __float_as_uint(half ? b_hi.z : b_hi.x), b1 = __float_as_uint(half ? b_hi.w : b_hi.y);
            const uint32_t b0_lo = __float_as_uint(half ? b_lo.z : b_lo.x);
            const uint32_t b1_lo = __float_as_uint(half ? b_lo.w : b_lo.y);
#pragma unroll
            for (int mt = 0; mt < kMTiles; ++mt) {
              float(&c)[4] = acc[mt][2 * u + half];
              if (kSplit) {
                mma_tf32(c, a_lo[mt][0], a_lo[mt][1], a_lo[mt][2], a_lo[mt][3], b0, b1);
                mma_tf32(c, a_hi[mt][0], a_hi[mt][1], a_hi[mt][2], a_hi[mt][3], b0_lo, b1_lo);
              }
              mma_tf32(c, a_hi[mt][0], a_hi[mt][1], a_hi[mt][2], a_hi[mt][3], b0, b1);
            }
          }
        }
      }
    }
  }
  cp_async_wait<0>();
  __syncthreads();  // every warp is done with the stage buffers, which the tile reuses

  float* tile = smem;  // [kTileN][kTileStride]: channel rows of the tile's pixels
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
    for (int nt = 0; nt < kNTiles; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        tile[(wn0 + nt * 8 + 2 * tq + e % 2) * kTileStride + m_row(mt) + gq + e / 2 * 8] = acc[mt][nt][e];
      }
    }
  }
  __syncthreads();

  // + bias, each channel's pixels p0..p_last: one contiguous run of dst; with moments, also the run's mean and its sum
  // of squared deviations from it (a second pass over the tile in shared memory, no cancellation).
  const int pixels = p_last - p0 + 1, channels = min(kTileN, args.dst_per_group - n0);
  const int ch0 = g * args.dst_per_group + n0;
  float* dst_tile = args.dst + (n * args.dst_channels + ch0) * dst_plane + p0;
  for (int row = warp; row < channels; row += kWarps) {
    const float b = args.bias != nullptr ? args.bias[ch0 + row] : 0.f;
    const float* values = tile + row * kTileStride;
    float* out = dst_tile + int64_t{row} * dst_plane;
    float sum = 0.f;
    for (int p = lane; p < pixels; p += 32) {
      const float v = values[p] + b;
      out[p] = v;
      sum += v;
    }
    if (args.moments != nullptr) {
      const float mean = warp_sum(sum) / static_cast<float>(pixels);
      float m2 = 0.f;
      for (int p = lane; p < pixels; p += 32) {
        const float d = values[p] + b - mean;
        m2 += d * d;
      }
      m2 = warp_sum(m2);
      if (lane == 0) {
        const int64_t tile_index = n * args.p_tiles + p0 / kTileP;
        reinterpret_cast<float2*>(args.moments)[tile_index * args.dst_channels + ch0 + row] = make_float2(mean, m2);
      }
    }
  }
#endif
}

// Sizes the tile-dependent parts of `args` (kernel rows per step, shared memory), packs the weights and launches.
// False, launching nothing, when shared memory or the grid does not fit.
template <int kTileN, int kWarpsN, int kMTiles, bool kWgmma = false>
bool plan_and_launch(TensorCoreArgs args, int64_t batch, const at::Tensor& w, const WeightLayout& layout, bool split,
                     TileMoments* moments) {
  constexpr int kTileP = kWarps / kWarpsN * 16 * kMTiles;
  const cudaDeviceProp* props = at::cuda::getCurrentDeviceProperties();
  const int64_t halo_w = int64_t{args.kernel_w - 1} * args.dil_w;
  // The longest patch of one kernel row: a tile spans at most row_span rows after its first.
  const int64_t row_span = std::min<int64_t>((kTileP + args.dst_w - 2) / args.dst_w, args.dst_h - 1);
  const int64_t span = row_span * (args.pitch - args.dst_w) + kTileP + halo_w;
  const int64_t tile_floats = int64_t{kTileN} * (kTileP + 4);
  // Kernel rows and chunks per step, and steps in flight: the most rows that leave room for min_blocks blocks per SM
  // with at least two stages (fewer patch copies, barriers and step bookkeeping per MMA); when every row fits, up to
  // four chunks per step as long as that leaves at least four steps to overlap; then the deepest pipeline (up to three
  // stages) for that step.
  const int64_t smem_target =
      static_cast<int64_t>(props->sharedMemPerMultiprocessor) / min_blocks(kTileN, kWarpsN, kMTiles) -
      static_cast<int64_t>(props->reservedSharedMemPerBlock);
  int rows_per_step = 0, chunks_per_step = 0, stages = 0;
  int64_t slab_stride = 0, stage_floats = 0, smem_bytes = 0;
  auto take_if_fits = [&](int rows, int cps) {
    const int64_t len = span + int64_t{rows - 1} * args.dil_h * args.pitch;
    int64_t stride = (len + 3 + 3) / 4 * 4;  // + the channel row's phase, in whole quads
    stride += (8 - stride % 32 + 32) % 32;   // = 8 (mod 32): a warp's A fragment loads hit 32 banks
    const int64_t stage =
        cps * (kChunk * stride + int64_t{rows} * args.kernel_w * tap_floats(kTileN) * (split ? 2 : 1));
    const int64_t steps = int64_t{(args.chunks + cps - 1) / cps} * ((args.kernel_h + rows - 1) / rows);
    for (int depth = 3; depth >= 2; --depth) {
      const int64_t bytes = std::max(std::min<int64_t>(depth, steps) * stage, tile_floats) * sizeof(float);
      if (bytes <= smem_target || (rows == 1 && cps == 1 && depth == 2)) {  // one row in two stages: the fallback
        rows_per_step = rows, chunks_per_step = cps, stages = depth;
        slab_stride = stride, stage_floats = stage, smem_bytes = bytes;
        return true;
      }
    }
    return false;
  };
  for (int rows = 1; rows <= args.kernel_h; ++rows) take_if_fits(rows, 1);
  for (int cps = 2; rows_per_step == args.kernel_h && cps <= 4 && (args.chunks + cps - 1) / cps >= 4; ++cps) {
    if (!take_if_fits(args.kernel_h, cps)) break;
  }
  const int64_t p_tiles = (int64_t{args.dst_h} * args.dst_w + kTileP - 1) / kTileP;
  const int64_t n_tiles = (args.dst_per_group + kTileN - 1) / kTileN;
  const int64_t blocks = batch * args.groups * p_tiles * n_tiles;
  if (smem_bytes > static_cast<int64_t>(props->sharedMemPerBlockOptin) || blocks > INT_MAX) return false;

  args.rows_per_step = rows_per_step;
  args.chunks_per_step = chunks_per_step;
  args.row_blocks = (args.kernel_h + rows_per_step - 1) / rows_per_step;
  args.row_blocks_div = Divider(static_cast<unsigned>(args.row_blocks));
  args.stages = stages;
  args.n_tiles = static_cast<int>(n_tiles);
  args.p_tiles = static_cast<int>(p_tiles);
  args.slab_stride = static_cast<int>(slab_stride);
  args.stage_floats = static_cast<int>(stage_floats);
  args.stage_w_floats = chunks_per_step * rows_per_step * args.kernel_w * tap_floats(kTileN);

  const PackedWeights packed = pack_tensor_core_weights(w, layout, args.groups, args.kernel_h * args.kernel_w,
                                                        args.red_per_group, args.dst_per_group, kTileN, kWgmma, split);
  args.w_hi = packed.hi.const_data_ptr<float>();
  args.w_lo = split ? packed.lo.const_data_ptr<float>() : nullptr;
  if (moments != nullptr) {
    moments->moments = at::empty({batch * p_tiles, args.dst_channels, 2}, w.options());
    moments->tile_pixels = kTileP;
    moments->tiles_per_image = p_tiles;
    args.moments = moments->moments.mutable_data_ptr<float>();
  }

  auto* kernel = split ? conv2d_tf32_kernel<kTileN, kWarpsN, kMTiles, true, kWgmma>
                       : conv2d_tf32_kernel<kTileN, kWarpsN, kMTiles, false, kWgmma>;
  C10_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem_bytes)));
  kernel<<<static_cast<unsigned>(blocks), kThreads, static_cast<size_t>(smem_bytes),
           at::cuda::getCurrentCUDAStream()>>>(args);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return true;
}

}  // namespace

PackedWeights pack_tensor_core_weights(const at::Tensor& w, const WeightLayout& layout, int64_t groups, int64_t taps,
                                       int64_t red_per_group, int64_t dst_per_group, int tile_n, bool k_major,
                                       bool split) {
  const int64_t n_tiles = (dst_per_group + tile_n - 1) / tile_n, chunks = (red_per_group + kChunk - 1) / kChunk;
  const int64_t total = groups * n_tiles * chunks * taps * tap_floats(tile_n);
  PackedWeights packed{at::empty({total}, w.options()), split ? at::empty({total}, w.options()) : at::Tensor()};
  pack_weights_kernel<<<grid_stride_blocks(total, 256, 4), 256, 0, at::cuda::getCurrentCUDAStream()>>>(
      w.const_data_ptr<float>(), packed.hi.mutable_data_ptr<float>(),
      split ? packed.lo.mutable_data_ptr<float>() : nullptr, total, static_cast<int>(taps),
      static_cast<int>(red_per_group), static_cast<int>(dst_per_group), tile_n, static_cast<int>(n_tiles),
      static_cast<int>(chunks), k_major, layout);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return packed;
}

bool conv2d_tensor_core(const Conv2dGeometry& g, bool transposed, const at::Tensor& src, const at::Tensor& w,
                        const at::Tensor& bias, at::Tensor& dst, bool full_fp32, TileMoments* moments) {
  if (g.stride_h != 1 || g.stride_w != 1 || at::cuda::getCurrentDeviceProperties()->major < 8) return false;
  const int64_t ipg = g.in_per_group(), opg = g.out_per_group(), taps = g.kernel_h * g.kernel_w;
  // The correlation's padding: the transposed convolution reads y[i + padding - k * dil], i.e. its flipped kernel at
  // offset k' * dil - ((kernel - 1) * dil - padding).
  const int64_t pad_h = transposed ? (g.kernel_h - 1) * g.dil_h - g.pad_h : g.pad_h;
  const int64_t pad_w = transposed ? (g.kernel_w - 1) * g.dil_w - g.pad_w : g.pad_w;
  const int64_t halo_w = (g.kernel_w - 1) * g.dil_w;
  const int64_t src_h = transposed ? g.out_h : g.in_h, src_w = transposed ? g.out_w : g.in_w;
  const int64_t dst_h = transposed ? g.in_h : g.out_h, dst_w = transposed ? g.in_w : g.out_w;
  // Every index the kernel computes in int stays below INT_MAX (patch offsets are bounded by the shared memory).
  for (const int64_t v : {src_h * src_w, dst_h * dst_w, g.in_channels, g.out_channels, taps * 16,
                          (g.kernel_h - 1) * g.dil_h, halo_w, std::abs(pad_h), std::abs(pad_w)}) {
    if (v > INT_MAX / 16) return false;
  }
  // With src_w = 0 (mod 4) every src row starts at the same phase: `lead` columns put it on a quad of the patch row,
  // and a pitch of whole quads keeps the quads within rows (no element-wise copies but at unaligned image edges).
  const int64_t src_phase = static_cast<int64_t>(reinterpret_cast<uintptr_t>(src.const_data_ptr<float>()) / 4 % 4);
  const int64_t lead = src_w % 4 == 0 ? ((src_phase - pad_w) % 4 + 4) % 4 : 0;
  const int64_t cols = lead + dst_w + halo_w;
  const int64_t pitch = cols + ((src_w - cols) % 4 + 4) % 4;  // = src_w (mod 4): quads of src land on quads here

  TensorCoreArgs args{};
  args.src = src.const_data_ptr<float>();
  args.bias = data_or_null<float>(bias);
  args.dst = dst.mutable_data_ptr<float>();
  args.src_channels = static_cast<int>(transposed ? g.out_channels : g.in_channels);
  args.dst_channels = static_cast<int>(transposed ? g.in_channels : g.out_channels);
  args.src_h = static_cast<int>(src_h), args.src_w = static_cast<int>(src_w);
  args.dst_h = static_cast<int>(dst_h), args.dst_w = static_cast<int>(dst_w);
  args.red_per_group = static_cast<int>(transposed ? opg : ipg);
  args.dst_per_group = static_cast<int>(transposed ? ipg : opg);
  args.groups = static_cast<int>(g.groups);
  args.kernel_h = static_cast<int>(g.kernel_h), args.kernel_w = static_cast<int>(g.kernel_w);
  args.pad_h = static_cast<int>(pad_h), args.pad_w = static_cast<int>(pad_w + lead);
  args.dil_h = static_cast<int>(g.dil_h), args.dil_w = static_cast<int>(g.dil_w);
  args.chunks = (args.red_per_group + kChunk - 1) / kChunk;
  args.pitch = static_cast<int>(pitch);
  args.lead = static_cast<int>(lead);
  args.pitch_div = Divider(static_cast<unsigned>(pitch));
  args.dst_w_div = Divider(static_cast<unsigned>(dst_w));
  const WeightLayout layout = transposed ? WeightLayout{opg * ipg * taps, taps, ipg * taps, true}
                                         : WeightLayout{opg * ipg * taps, ipg * taps, taps, false};
  // Single rows (conv1d and conv_transpose1d) on Hopper: the kernel with both wgmma operands in shared memory.
  if (moments == nullptr && src_h == 1 && dst_h == 1 && g.kernel_h == 1 && pad_h == 0) {
    const RowCorrelation row{g.batch,
                             g.groups,
                             args.src_channels,
                             src_w,
                             args.dst_channels,
                             dst_w,
                             args.red_per_group,
                             args.dst_per_group,
                             g.kernel_w,
                             g.dil_w,
                             pad_w,
                             layout};
    if (row_correlation_wgmma(row, src, w, bias, dst, full_fp32)) return true;
  }

  // Tiles by the group's dst channels: narrow groups take more pixels per block, so that each warp still has
  // several MMAs per fragment load. Wide groups take 256 pixels (twice the MMAs per weight byte copied) when that still
  // makes several blocks per SM and its accumulator tile fits the GPU's shared memory (not on sm_86 / sm_89).
  const int64_t dst_per_group = args.dst_per_group;
  const int64_t wide_blocks = g.batch * g.groups * ((dst_h * dst_w + 255) / 256) * ((dst_per_group + 127) / 128);
  const cudaDeviceProp* props = at::cuda::getCurrentDeviceProperties();
  const int64_t sms = props->multiProcessorCount;
  if (dst_per_group <= 8) return plan_and_launch<8, 1, 4>(args, g.batch, w, layout, full_fp32, moments);
  if (dst_per_group <= 16) return plan_and_launch<16, 1, 4>(args, g.batch, w, layout, full_fp32, moments);
  if (dst_per_group <= 32) return plan_and_launch<32, 1, 4>(args, g.batch, w, layout, full_fp32, moments);
  if (dst_per_group <= 64) return plan_and_launch<64, 1, 2>(args, g.batch, w, layout, full_fp32, moments);
  // On Hopper the wide groups take wgmma (64 x 128 x 8 per instruction and warpgroup) where the library was built
  // for sm_90a.
  if (kBuiltForSm90a && props->major == 9 && props->minor == 0) {
    if (wide_blocks >= 4 * sms && plan_and_launch<128, 1, 2, true>(args, g.batch, w, layout, full_fp32, moments)) {
      return true;
    }
    if (plan_and_launch<128, 1, 1, true>(args, g.batch, w, layout, full_fp32, moments)) return true;
  }
  if (wide_blocks >= 4 * sms && plan_and_launch<128, 2, 4>(args, g.batch, w, layout, full_fp32, moments)) return true;
  return plan_and_launch<128, 2, 2>(args, g.batch, w, layout, full_fp32, moments);
}

}  // namespace fusedops
