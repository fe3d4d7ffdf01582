// The single-row case of the unit-stride tensor-core convolutions (conv1d and conv_transpose1d as (N, C, 1, L) views)
// on Hopper, for groups of 33 to 64 dst channels, with both wgmma operands in shared memory.
//
// dst[d, t] = bias[d] + sum over (r, b) of W'[d, r, b] * src[r, t + b * dil - pad]. Per tap b one GEMM: M = the 64 dst
// channels (the packed weights, A), N = 256 positions per warpgroup (src, B), K = 8 reduction channels. TF32 wgmma
// reads shared-memory operands K-major only, and src is position-major, so each 8-channel chunk of src is copied into a
// raw stage (TMA bulk copies; cp.async where a row reaches past src's ends) and transposed once into rows of 16 bytes,
// [channels 0-3, 4-7][position][4], rounded to TF32 (hi, and lo for 3xTF32) on the way. In that layout every tap reads
// the same rows, b * dil positions further: only the descriptor's start address moves, so a tap costs one wgmma per
// warpgroup and no loads (the general engine, with A from registers, loads four floats per tap and pixel row).
//
// Blocks are persistent, one per SM (128 accumulators per consumer thread), and walk their tiles' items (one or two
// chunks) as one stream through a ring of stages: a producer warpgroup copies and transposes, two consumer warpgroups
// issue the wgmmas and store, handing stages back and forth through mbarriers.
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>

#include <ATen/cuda/detail/IntegerDivider.cuh>
#include <algorithm>
#include <climits>

#include "ops/common/mma_tf32.cuh"
#include "ops/common/tensors.h"
#include "ops/conv2d/cuda_tensor_core.cuh"

namespace fusedops {
namespace {

constexpr int kConsumerThreads = 256;  // two warpgroups issue the wgmmas
constexpr int kProducerThreads = 128;  // one fills the stages
constexpr int kThreads = kConsumerThreads + kProducerThreads;
constexpr int kChunk = 8;  // reduction channels of one wgmma (its K)
constexpr int kWarpgroupPositions = 256;
constexpr int kTileCo = 64, kTilePositions = 2 * kWarpgroupPositions;  // a block's tile
constexpr int kTapFloats = kTileCo * kChunk;                           // one tap's packed weights
constexpr int kMaxStages = 8;

using Divider = at::cuda::detail::IntDivider<unsigned>;

struct RowArgs {
  const float* src;
  const float* w_hi;  // packed weights (pack_tensor_core_weights, K-major); also the 16-byte address of zero-fills
  const float* w_lo;  // nullptr unless 3xTF32
  const float* bias;  // nullptr when there is none
  float* dst;
  int src_channels, src_len, dst_channels, dst_len;
  int red_per_group, dst_per_group, groups;
  int taps, dil, pad;
  int chunks, chunks_per_item;  // an item: the chunks that one pipeline stage holds, 1 or 2
  int items_per_tile, n_tiles, p_tiles, tiles;
  bool aligned_rows;  // src_len = 0 (mod 4): every channel row of a tile has the same 16-byte phase
  bool pairs;         // dst_len even: a thread's two adjacent positions are one 8-byte store
  int stages;         // ring depth, 3 to kMaxStages
  int raw_pitch;      // floats per channel row of a raw stage: op_positions + 8
  int op_positions;   // positions of a transposed operand: whole quads
  int stage_floats;   // one ring stage: the item's raw rows, then its weights (hi, then lo)
  Divider op_positions_div;
};

// A position in a block's stream of (tile, item) pairs: tile -> (image, group, position tile, channel tile), the
// channel tile fastest so that blocks that read the same src run together.
struct Cursor {
  int tile, item;
  int n, g, n_tile, t0;

  __device__ void decode(const RowArgs& a, int tile_positions) {
    int id = tile;
    n_tile = id % a.n_tiles;
    id /= a.n_tiles;
    t0 = id % a.p_tiles * tile_positions;
    id /= a.p_tiles;
    g = id % a.groups;
    n = id / a.groups;
  }
  __device__ void advance(const RowArgs& a, int tile_positions) {
    if (++item < a.items_per_tile) return;
    item = 0;
    tile += gridDim.x;
    decode(a, tile_positions);
  }
  __device__ int first_chunk(const RowArgs& a) const { return item * a.chunks_per_item; }
  __device__ int chunks(const RowArgs& a) const { return min(a.chunks_per_item, a.chunks - first_chunk(a)); }
};

// A block computes 64 dst channels x 512 positions, consumer warpgroup w the positions 256 w ... The third warpgroup is
// the producer: it copies each item's src rows and weights into a stage, transposes the rows into the stage's operands,
// and hands the stage over (mbarrier `full`); the consumers issue the wgmmas and hand it back (`empty`) once they are
// done with it.
template <bool kSplit>
__global__ void __launch_bounds__(kThreads, 1) row_wgmma_kernel(const RowArgs args) {
#ifdef FUSEDOPS_HAS_WGMMA
  extern __shared__ __align__(128) float smem[];
  // The warp index through a shuffle, so that the compiler sees the roles' branches as warp-uniform (wgmmas in what
  // it takes for a divergent path are serialized).
  const int tid = threadIdx.x, warp = __shfl_sync(0xffffffffu, tid / 32, 0), lane = tid % 32;
  const int w_floats = args.taps * kTapFloats;       // one chunk's weights
  const int op_floats = kChunk * args.op_positions;  // one chunk's operand (hi or lo)
  // A stage: the item's raw src rows, its weights (hi, then lo), its operands (per chunk hi, then lo).
  const int raw_floats = args.chunks_per_item * kChunk * args.raw_pitch;
  const int item_w_floats = args.chunks_per_item * w_floats;
  const int op_offset = raw_floats + (kSplit ? 2 : 1) * item_w_floats;
  const unsigned smem_address = shared_address(smem);
  // The stages' barriers, after the stages: `loaded` (the TMA copies landed), `full` (operands ready), `empty`.
  const unsigned loaded_barriers = smem_address + args.stages * args.stage_floats * sizeof(float);
  const unsigned full_barriers = loaded_barriers + args.stages * 8;
  const unsigned empty_barriers = full_barriers + args.stages * 8;
  if (tid == 0) {
    for (int s = 0; s < args.stages; ++s) {
      mbarrier_init(loaded_barriers + 8 * s, kProducerThreads / 32);
      mbarrier_init(full_barriers + 8 * s, kProducerThreads);
      mbarrier_init(empty_barriers + 8 * s, kConsumerThreads);
    }
  }
  __syncthreads();

  // The 16-byte phase of src[n, channel of the group, s0] (s0 = t0 - pad, the tile's first tap-0 position).
  auto phase = [&](const Cursor& c, int channel) {
    const int64_t row = (int64_t{c.n} * args.src_channels + int64_t{c.g} * args.red_per_group + channel) * args.src_len;
    return static_cast<int>((reinterpret_cast<uintptr_t>(args.src) / sizeof(float) + static_cast<uint64_t>(row) +
                             static_cast<uint64_t>(c.t0 - args.pad)) &
                            3u);
  };
  // Operand position j holds src position s0 - lead + j, lead the phase of the group's first channel; a raw row
  // starts at s0 - (its phase) - 4, so position j is its element j + 4 + phase - lead (j + 4 with aligned rows).
  auto lead = [&](const Cursor& c) { return phase(c, 0); };
  Cursor first{static_cast<int>(blockIdx.x), 0};
  first.decode(args, kTilePositions);
  const int items = (args.tiles - static_cast<int>(blockIdx.x) + static_cast<int>(gridDim.x) - 1) /
                    static_cast<int>(gridDim.x) * args.items_per_tile;

  if (warp >= kConsumerThreads / 32) {
    // The producer.
    const int ptid = tid - kConsumerThreads, pwarp = ptid / 32;
    // Stage `slot` <- the item's raw src rows and its weights. Rows inside src and the weights (one contiguous run)
    // are TMA bulk copies, issued by lane 0 of producer warp w for rows w, w + 4, ... (warp 0 also the weights) and
    // counted on the stage's `loaded` barrier; rows that reach past src's ends (a tile at an end of the row) or past
    // the group's channels are cp.async copies by the whole warp, zero-filled there.
    auto load_stage = [&](const Cursor& c, int slot) {
      const unsigned stage_address = smem_address + slot * args.stage_floats * sizeof(float);
      const unsigned loaded = loaded_barriers + 8 * slot;
      const int chunk0 = c.first_chunk(args), rows = c.chunks(args) * kChunk;
      // Row r: its channel's src row, and the src position of its first element (16-byte aligned).
      auto src_row = [&](int r) {
        const int channel = min(chunk0 * kChunk + r, args.red_per_group - 1);
        return args.src +
               (int64_t{c.n} * args.src_channels + int64_t{c.g} * args.red_per_group + channel) * args.src_len;
      };
      auto first_position = [&](int r) {
        return c.t0 - args.pad - phase(c, min(chunk0 * kChunk + r, args.red_per_group - 1)) - 4;
      };
      auto bulk = [&](int r) {
        const int pos0 = first_position(r);
        return chunk0 * kChunk + r < args.red_per_group && pos0 >= 0 && pos0 + args.raw_pitch <= args.src_len;
      };
      const int64_t w_first = ((int64_t{c.g} * args.n_tiles + c.n_tile) * args.chunks + chunk0) * w_floats;
      const unsigned w_bytes = c.chunks(args) * w_floats * sizeof(float);
      if (lane == 0) {  // the bytes that this warp's bulk copies will bring, before they are issued
        unsigned bytes = pwarp == 0 ? (kSplit ? 2 : 1) * w_bytes : 0;
        for (int r = pwarp; r < rows; r += kProducerThreads / 32) bytes += bulk(r) ? args.raw_pitch * sizeof(float) : 0;
        mbarrier_arrive_expect_bytes(loaded, bytes);
      }
      for (int r = pwarp; r < rows; r += kProducerThreads / 32) {
        const float* row = src_row(r);
        const int pos0 = first_position(r);
        if (bulk(r)) {
          if (lane == 0) {
            bulk_copy(stage_address + r * args.raw_pitch * sizeof(float), row + pos0, args.raw_pitch * sizeof(float),
                      loaded);
          }
          continue;
        }
        float* raw_row = smem + slot * args.stage_floats + r * args.raw_pitch;
        const bool channel_valid = chunk0 * kChunk + r < args.red_per_group;
        for (int q = 4 * lane; q < args.raw_pitch; q += 128) {
          const int pos = pos0 + q;
          const bool inside = channel_valid && pos >= 0 && pos + 4 <= args.src_len;
          if (inside || !channel_valid || pos + 4 <= 0 || pos >= args.src_len) {
            cp_async16(raw_row + q, inside ? row + pos : args.w_hi, inside);
            continue;
          }
          for (int j = 0; j < 4; ++j) {
            const bool valid = pos + j >= 0 && pos + j < args.src_len;
            cp_async4(raw_row + q + j, valid ? row + pos + j : args.src, valid);
          }
        }
      }
      if (pwarp == 0 && lane == 0) {
        const unsigned w_address = stage_address + raw_floats * sizeof(float);
        bulk_copy(w_address, args.w_hi + w_first, w_bytes, loaded);
        if (kSplit) bulk_copy(w_address + item_w_floats * sizeof(float), args.w_lo + w_first, w_bytes, loaded);
      }
    };
    // Stage `slot`'s operands <- its raw rows, transposed and rounded: a thread takes one position of four channels
    // (four 4-byte loads from consecutive rows, one 16-byte store). Consecutive threads take consecutive positions, so
    // that the loads and the stores are free of bank conflicts.
    auto transpose = [&](const Cursor& c, int slot) {
      const float* raw = smem + slot * args.stage_floats;
      float* op = smem + slot * args.stage_floats + op_offset;
      const int first_lead = lead(c), units = c.chunks(args) * 2 * args.op_positions;
#pragma unroll 2
      for (int u = ptid; u < units; u += kProducerThreads) {
        const auto q = args.op_positions_div.divmod(static_cast<unsigned>(u));
        const int quad = static_cast<int>(q.div), j = static_cast<int>(q.mod);  // rows 4 quad .. 4 quad + 3
        const float* r = raw + 4 * quad * args.raw_pitch + j + 4;
        float v[4];
#pragma unroll
        for (int cc = 0; cc < 4; ++cc) {
          const int shift = args.aligned_rows ? 0 : phase(c, c.first_chunk(args) * kChunk + 4 * quad + cc) - first_lead;
          v[cc] = r[cc * args.raw_pitch + shift];
        }
        float hi[4], lo[4];
#pragma unroll
        for (int cc = 0; cc < 4; ++cc) {
          hi[cc] = __uint_as_float(to_tf32(v[cc]));
          lo[cc] = __uint_as_float(to_tf32(v[cc] - hi[cc]));
        }
        // Chunk quad / 2 of the item, channels 4 (quad % 2) ..: its operand's K half.
        float* out = op + quad / 2 * (kSplit ? 2 : 1) * op_floats + quad % 2 * 4 * args.op_positions + 4 * j;
        *reinterpret_cast<float4*>(out) = make_float4(hi[0], hi[1], hi[2], hi[3]);
        if (kSplit) *reinterpret_cast<float4*>(out + op_floats) = make_float4(lo[0], lo[1], lo[2], lo[3]);
      }
    };

    // Step i: item i - lag's operands handed over (its copies have landed), then item i's copies (once the consumers
    // are done with the stage's previous item, i - stages). The consumers give item i - stages back after issuing item
    // i - stages + 1, which this step or an earlier one handed over (lag < stages); a step's hand-over waits only for
    // the previous step's copies, so up to stages - 1 - lag items are handed over ahead of the consumers (two, with
    // the rest of the stages' copies in flight).
    const int lag = max(1, args.stages - 3);
    Cursor loading = first, transposing = first;
    for (int i = 0, slot = 0, done = 0; i < items + lag; ++i) {
      if (i >= lag) {
        mbarrier_wait(loaded_barriers + 8 * done, (i - lag) / args.stages & 1);  // item i - lag's bulk copies landed
        cp_async_wait_at_most(lag - 1);             // this thread's cp.async copies of it have landed
        named_barrier_sync<1, kProducerThreads>();  // so have the other producer threads'
        transpose(transposing, done);
        transposing.advance(args, kTilePositions);
        fence_shared_for_wgmma();  // the stage's operands, to wgmma's reads
        mbarrier_arrive(full_barriers + 8 * done);
        done = done + 1 == args.stages ? 0 : done + 1;
      }
      if (i < items) {
        if (i >= args.stages) mbarrier_wait(empty_barriers + 8 * slot, (i / args.stages - 1) & 1);
        load_stage(loading, slot);
        loading.advance(args, kTilePositions);
        slot = slot + 1 == args.stages ? 0 : slot + 1;
      }
      cp_async_commit();
    }
    return;
  }

  // The consumers.
  const int position_block = warp / 4;
  float acc[32][4];  // set by each tile's first wgmma
  // The item's wgmmas: per chunk and tap, the warpgroup's 64 weight rows against its 256 operand positions, the tap
  // b * dil positions further.
  auto issue = [&](const Cursor& c, int slot) {
    const unsigned stage = smem_address + slot * args.stage_floats * sizeof(float);
    const unsigned w_address = stage + raw_floats * sizeof(float);
    const unsigned x_address =
        stage + (op_offset + (lead(c) + position_block * kWarpgroupPositions) * 4) * sizeof(float);
    // Descriptor start addresses count 16-byte units.
    const uint64_t a_lo = item_w_floats / 4, b_lo = op_floats / 4;
    const int chunks = c.chunks(args);
    wgmma_fence();
    for (int k = 0; k < chunks; ++k) {
      uint64_t a = wgmma_descriptor(w_address + k * w_floats * sizeof(float), kTileCo * 16, 128);
      uint64_t b =
          wgmma_descriptor(x_address + k * (kSplit ? 2 : 1) * op_floats * sizeof(float), args.op_positions * 16, 128);
      for (int t = 0; t < args.taps; ++t, a += kTapFloats / 4, b += args.dil) {
        const bool accumulate = t > 0 || k > 0 || c.item > 0;  // a tile's first product replaces the last tile's sums
        if constexpr (kSplit) {
          wgmma_m64n256k8_tf32(acc, a + a_lo, b, accumulate);
          wgmma_m64n256k8_tf32(acc, a, b + b_lo, true);
        }
        wgmma_m64n256k8_tf32(acc, a, b, kSplit || accumulate);
      }
    }
    wgmma_commit();
  };

  // + bias, straight from the accumulators: per row and wgmma column block, a quad of threads writes 8 positions.
  auto store = [&](const Cursor& c) {
    const int gq = lane / 4, tq = lane % 4;
    const int t_first = c.t0 + position_block * kWarpgroupPositions + 2 * tq;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int co = c.n_tile * kTileCo + warp % 4 * 16 + gq + 8 * h;
      if (co >= args.dst_per_group) continue;
      const int channel = c.g * args.dst_per_group + co;
      const float bias = args.bias != nullptr ? args.bias[channel] : 0.f;
      float* out = args.dst + (int64_t{c.n} * args.dst_channels + channel) * args.dst_len;
#pragma unroll
      for (int nn = 0; nn < 32; ++nn) {
        const int t = t_first + 8 * nn;
        const float v0 = acc[nn][2 * h] + bias, v1 = acc[nn][2 * h + 1] + bias;
        if (args.pairs && t + 1 < args.dst_len) {
          *reinterpret_cast<float2*>(out + t) = make_float2(v0, v1);
        } else {
          if (t < args.dst_len) out[t] = v0;
          if (t + 1 < args.dst_len) out[t + 1] = v1;
        }
      }
    }
  };

  Cursor current = first;
  for (int i = 0, slot = 0, parity = 0, previous = 0; i < items; ++i) {
    mbarrier_wait(loaded_barriers + 8 * slot, parity);  // the weights (the producer waited too, but the TMA's
    mbarrier_wait(full_barriers + 8 * slot, parity);    // writes are made visible by waiting on its barrier)
    issue(current, slot);
    wgmma_wait<1>();                                            // item i - 1's wgmmas are done:
    if (i > 0) mbarrier_arrive(empty_barriers + 8 * previous);  // its stage goes back to the producer
    if (current.item == args.items_per_tile - 1) {
      wgmma_wait<0>();
      store(current);
    }
    current.advance(args, kTilePositions);
    previous = slot;
    if (++slot == args.stages) slot = 0, parity ^= 1;
  }
#endif
}

bool plan_and_launch(RowArgs args, const RowCorrelation& c, const at::Tensor& w, bool split) {
  const cudaDeviceProp* props = at::cuda::getCurrentDeviceProperties();
  const int64_t halo = (c.taps - 1) * c.dil;
  const int64_t op_positions = (3 + kTilePositions + halo + 3) / 4 * 4;  // lead <= 3, then the tile and its halo
  const int64_t raw_pitch = op_positions + 8;  // a quad before the lead, and up to 3 positions of phase after
  const int64_t w_floats = c.taps * kTileCo * kChunk;
  // Two chunks per stage (half the hand-overs per wgmma) when that still leaves four stages (two items of copies in
  // flight); at least two stages.
  int64_t chunks_per_item = 0, stages = 0, stage_floats = 0;
  for (int64_t cpi = 2; cpi >= 1 && stages < 3; --cpi) {
    chunks_per_item = cpi;
    stage_floats = cpi * (kChunk * raw_pitch + (w_floats + kChunk * op_positions) * (split ? 2 : 1));
    const int64_t stage_bytes = stage_floats * int64_t{sizeof(float)} + 24;  // + its three barriers
    stages = std::min<int64_t>(kMaxStages, static_cast<int64_t>(props->sharedMemPerBlockOptin) / stage_bytes);
  }
  const int64_t p_tiles = (c.dst_len + kTilePositions - 1) / kTilePositions;
  const int64_t n_tiles = (c.dst_per_group + kTileCo - 1) / kTileCo;
  const int64_t tiles = c.batch * c.groups * p_tiles * n_tiles;
  if (stages < 2 || tiles > INT_MAX) return false;

  args.chunks_per_item = static_cast<int>(chunks_per_item);
  args.items_per_tile = static_cast<int>((args.chunks + chunks_per_item - 1) / chunks_per_item);
  args.stages = static_cast<int>(stages);
  args.raw_pitch = static_cast<int>(raw_pitch);
  args.op_positions = static_cast<int>(op_positions);
  args.op_positions_div = Divider(static_cast<unsigned>(op_positions));
  args.stage_floats = static_cast<int>(stage_floats);
  args.n_tiles = static_cast<int>(n_tiles);
  args.p_tiles = static_cast<int>(p_tiles);
  args.tiles = static_cast<int>(tiles);
  const PackedWeights packed = pack_tensor_core_weights(w, c.layout, c.groups, c.taps, c.red_per_group, c.dst_per_group,
                                                        kTileCo, /*k_major=*/true, split);
  args.w_hi = packed.hi.const_data_ptr<float>();
  args.w_lo = split ? packed.lo.const_data_ptr<float>() : nullptr;

  const int64_t smem_bytes = stages * (stage_floats * sizeof(float) + 24);
  auto* kernel = split ? row_wgmma_kernel<true> : row_wgmma_kernel<false>;
  C10_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem_bytes)));
  const int64_t blocks = std::min<int64_t>(tiles, props->multiProcessorCount);
  kernel<<<static_cast<unsigned>(blocks), kThreads, static_cast<size_t>(smem_bytes),
           at::cuda::getCurrentCUDAStream()>>>(args);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return true;
}

}  // namespace

bool row_correlation_wgmma(const RowCorrelation& c, const at::Tensor& src, const at::Tensor& w, const at::Tensor& bias,
                           at::Tensor& dst, bool full_fp32) {
  const cudaDeviceProp* props = at::cuda::getCurrentDeviceProperties();
  // Groups of 33 to 64 dst channels: one 64-row wgmma each. Narrower groups would leave most of it empty (the general
  // engine's narrow tiles take them); wider ones run as fast on the general engine's 128-channel wgmma tile
  // (bench/NOTES.md, v6), which also keeps the accumulators of 128 channels.
  if (!kBuiltForSm90a || props->major != 9 || props->minor != 0 || c.dst_per_group <= 32 || c.dst_per_group > 64) {
    return false;
  }
  // Positions stay well inside int (the shared-memory planning bounds the halo).
  for (const int64_t v : {c.src_len, c.dst_len, c.taps * c.dil, std::abs(c.pad), c.src_channels, c.dst_channels}) {
    if (v > INT_MAX / 4) return false;
  }
  if (c.batch * c.src_channels * c.src_len == 0 || c.dst_len == 0) return false;

  RowArgs args{};
  args.src = src.const_data_ptr<float>();
  args.bias = data_or_null<float>(bias);
  args.dst = dst.mutable_data_ptr<float>();
  args.src_channels = static_cast<int>(c.src_channels);
  args.src_len = static_cast<int>(c.src_len);
  args.dst_channels = static_cast<int>(c.dst_channels);
  args.dst_len = static_cast<int>(c.dst_len);
  args.red_per_group = static_cast<int>(c.red_per_group);
  args.dst_per_group = static_cast<int>(c.dst_per_group);
  args.groups = static_cast<int>(c.groups);
  args.taps = static_cast<int>(c.taps);
  args.dil = static_cast<int>(c.dil);
  args.pad = static_cast<int>(c.pad);
  args.chunks = static_cast<int>((c.red_per_group + kChunk - 1) / kChunk);
  args.aligned_rows = c.src_len % 4 == 0;
  args.pairs = c.dst_len % 2 == 0 && reinterpret_cast<uintptr_t>(args.dst) % 8 == 0;
  return plan_and_launch(args, c, w, full_fp32);
}

}  // namespace fusedops
