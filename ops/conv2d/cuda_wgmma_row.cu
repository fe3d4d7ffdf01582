// The single-row case of the unit-stride tensor-core convolutions (conv1d and conv_transpose1d as (N, C, 1, L) views)
// on Hopper, for groups of more than 32 dst channels, with both wgmma operands in shared memory.
//
// dst[d, t] = bias[d] + sum over (r, b) of W'[d, r, b] * src[r, t + b * dil - pad]. Per tap b one GEMM: M = 64 dst
// channels (the packed weights, A), N = 256 positions per warpgroup (src, B), K = 8 reduction channels. TF32 wgmma
// reads shared-memory operands K-major only, and src is position-major, so each 8-channel chunk of src is copied into a
// raw stage (TMA bulk copies; cp.async where a row reaches past src's ends) and transposed once into rows of 16 bytes,
// [channels 0-3, 4-7][position][4], rounded to TF32 (hi, and lo for 3xTF32) on the way. In that layout every tap reads
// the same rows, b * dil positions further: only the descriptor's start address moves, so a tap costs one wgmma per
// warpgroup and no loads (the general engine, with A from registers, loads four floats per tap and pixel row).
//
// Blocks are persistent, one per SM (128 accumulators per consumer thread), and walk their tiles' items (one or two
// chunks) as one stream. Two producer warps keep two rings filled, one with the items' raw rows (back as soon as they
// are transposed), one with their weights (back once the wgmmas are done). The two consumer warpgroups transpose item
// i + 1 while the tensor cores run item i's wgmmas, so that the transpose costs the consumers' idle issue slots rather
// than a hand-over between warps, and store each finished tile through shared memory in whole row segments.
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

constexpr int kConsumerThreads = 256;            // two warpgroups transpose and issue the wgmmas
constexpr int kThreads = kConsumerThreads + 64;  // one producer warp copies the src rows, one the weights
constexpr int kChunk = 8;                        // reduction channels of one wgmma (its K)
constexpr int kRowBlock = 64;                    // dst channels of one wgmma (its M)
constexpr int kWarpgroupPositions = 256;         // positions of one wgmma (its N)
constexpr int kOperandBuffers = 3;  // transposed items: one being issued, one being written, one whose wgmmas may run
constexpr int kMaxStages = 8;
// The store's parking space per consumer warp: its 16 rows x 32 positions, rows 8 (mod 32) floats apart so that the
// quads' 8-byte stores are free of bank conflicts. It is the finished item's operand buffer.
constexpr int kParkRows = 16, kParkPositions = 32, kParkPitch = kParkPositions + 8;
constexpr int kParkFloats = kParkRows * kParkPitch;

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
  // A tile: row_blocks x 64 dst channels (1 or 2) x tile_positions (512 / row_blocks): warpgroup w takes row block
  // w % row_blocks and positions 256 (w / row_blocks) ..
  int row_blocks, tile_co, tile_positions;
  int chunks, chunks_per_item;  // an item: the chunks of one pipeline step, 1 or 2
  int items_per_tile, n_tiles, p_tiles, tiles;
  bool aligned_rows;  // src_len = 0 (mod 4): every channel row of a tile has the same 16-byte phase
  bool pairs;         // dst_len even: a thread's two adjacent positions are one 8-byte store
  int stages;         // depth of the two rings (an item's raw src rows; its weights), 3 to kMaxStages
  int raw_pitch;      // floats per channel row of a raw stage: op_positions + 8
  int op_positions;   // positions of a transposed operand: whole quads
  int op_floats;      // one operand buffer: per chunk of the item hi, then lo (or the store's parking)
  Divider op_positions_div;
};

// A position in a block's stream of (tile, item) pairs: tile -> (image, group, position tile, channel tile), the
// channel tile fastest so that blocks that read the same src run together.
struct Cursor {
  int tile, item;
  int n, g, n_tile, t0;

  __device__ void decode(const RowArgs& a) {
    int id = tile;
    n_tile = id % a.n_tiles;
    id /= a.n_tiles;
    t0 = id % a.p_tiles * a.tile_positions;
    id /= a.p_tiles;
    g = id % a.groups;
    n = id / a.groups;
  }
  __device__ void advance(const RowArgs& a) {
    if (++item < a.items_per_tile) return;
    item = 0;
    tile += gridDim.x;
    decode(a);
  }
  __device__ int first_chunk(const RowArgs& a) const { return item * a.chunks_per_item; }
  __device__ int chunks(const RowArgs& a) const { return min(a.chunks_per_item, a.chunks - first_chunk(a)); }
  __device__ bool last_of_tile(const RowArgs& a) const { return item == a.items_per_tile - 1; }
};

template <bool kSplit>
__global__ void __launch_bounds__(kThreads, 1) row_wgmma_kernel(const RowArgs args) {
#ifdef FUSEDOPS_HAS_WGMMA
  extern __shared__ __align__(128) float smem[];
  // The warp index through a shuffle, so that the compiler sees the roles' branches as warp-uniform (wgmmas in what
  // it takes for a divergent path are serialized).
  const int tid = threadIdx.x, warp = __shfl_sync(0xffffffffu, tid / 32, 0), lane = tid % 32;
  const int w_floats = args.taps * args.tile_co * kChunk;  // one chunk's weights
  const int chunk_op_floats = kChunk * args.op_positions;  // one chunk's operand (hi or lo)
  // Shared memory: the two rings (an item's raw src rows; its weights, hi then lo), the operand buffers, then the
  // rings' barriers: `loaded` (the item's copies landed) and `empty` (the consumers are done with the slot) for each.
  const int raw_floats = args.chunks_per_item * kChunk * args.raw_pitch;
  const int item_w_floats = args.chunks_per_item * w_floats;
  const int w_ring_offset = args.stages * raw_floats;
  const int ops_offset = w_ring_offset + args.stages * (kSplit ? 2 : 1) * item_w_floats;
  const unsigned smem_address = shared_address(smem);
  const unsigned raw_loaded = smem_address + (ops_offset + kOperandBuffers * args.op_floats) * sizeof(float);
  const unsigned raw_empty = raw_loaded + args.stages * 8;
  const unsigned w_loaded = raw_empty + args.stages * 8;
  const unsigned w_empty = w_loaded + args.stages * 8;
  if (tid == 0) {
    for (int s = 0; s < args.stages; ++s) {
      mbarrier_init(raw_loaded + 8 * s, 1 + 32);  // the producer's byte count, and each lane's cp.async arrival
      mbarrier_init(raw_empty + 8 * s, kConsumerThreads);
      mbarrier_init(w_loaded + 8 * s, 1);
      mbarrier_init(w_empty + 8 * s, kConsumerThreads);
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
  first.decode(args);
  const int items = (args.tiles - static_cast<int>(blockIdx.x) + static_cast<int>(gridDim.x) - 1) /
                    static_cast<int>(gridDim.x) * args.items_per_tile;

  if (warp >= kConsumerThreads / 32) {
    // The producers, each with its ring: slot i % stages <- item i, once the consumers are done with item i - stages.
    const bool rows_producer = warp == kConsumerThreads / 32;
    // Raw slot `slot` <- the item's src rows. Rows inside src are TMA bulk copies, lane r issuing row r's; rows that
    // reach past src's ends (a tile at an end of the row) or past the group's channels are cp.async copies by the whole
    // warp, zero-filled there. Both complete on the slot's `loaded` barrier.
    auto load_rows = [&](const Cursor& c, int slot) {
      const unsigned loaded = raw_loaded + 8 * slot;
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
      const bool my_bulk = lane < rows && bulk(lane);
      // The bytes that the bulk copies will bring, expected before any is issued.
      const unsigned row_bytes = __popc(__ballot_sync(0xffffffffu, my_bulk)) * args.raw_pitch * sizeof(float);
      if (lane == 0) mbarrier_arrive_expect_bytes(loaded, row_bytes);
      __syncwarp();
      float* const raw = smem + slot * raw_floats;
      if (my_bulk) {
        bulk_copy(shared_address(raw + lane * args.raw_pitch), src_row(lane) + first_position(lane),
                  args.raw_pitch * sizeof(float), loaded);
      }
      for (int r = 0; r < rows; ++r) {
        if (bulk(r)) continue;
        const float* row = src_row(r);
        const int pos0 = first_position(r);
        float* raw_row = raw + r * args.raw_pitch;
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
      cp_async_arrive(loaded);  // once this lane's cp.async copies (if any) have landed
    };
    // Weight slot `slot` <- the item's weights (hi, then lo): one contiguous run each, bulk copies.
    auto load_weights = [&](const Cursor& c, int slot) {
      if (lane != 0) return;
      const unsigned loaded = w_loaded + 8 * slot;
      const int64_t w_first = ((int64_t{c.g} * args.n_tiles + c.n_tile) * args.chunks + c.first_chunk(args)) * w_floats;
      const unsigned w_bytes = c.chunks(args) * w_floats * sizeof(float);
      const unsigned address = shared_address(smem + w_ring_offset + slot * (kSplit ? 2 : 1) * item_w_floats);
      mbarrier_arrive_expect_bytes(loaded, (kSplit ? 2 : 1) * w_bytes);
      bulk_copy(address, args.w_hi + w_first, w_bytes, loaded);
      if (kSplit) bulk_copy(address + item_w_floats * sizeof(float), args.w_lo + w_first, w_bytes, loaded);
    };
    Cursor loading = first;
    for (int i = 0, slot = 0; i < items; ++i) {
      if (i >= args.stages) mbarrier_wait((rows_producer ? raw_empty : w_empty) + 8 * slot, (i / args.stages - 1) & 1);
      if (rows_producer) {
        load_rows(loading, slot);
      } else {
        load_weights(loading, slot);
      }
      loading.advance(args);
      slot = slot + 1 == args.stages ? 0 : slot + 1;
    }
    return;
  }

  // The consumers. Item i's operand goes to buffer i % 3: it is written while item i - 1's wgmmas run, after item i -
  // 2's (the buffer's last reader) have completed in both warpgroups.
  const int ctid = tid, row_block = warp / 4 % args.row_blocks, position_block = warp / 4 / args.row_blocks;
  float acc[32][4];  // set by each tile's first wgmma
  auto operand = [&](int buffer) { return ops_offset + buffer * args.op_floats; };
  // Operand buffer `buffer` <- raw slot `slot`'s rows, transposed and rounded: a thread takes one position of four
  // channels (four 4-byte loads from consecutive rows, one 16-byte store). Consecutive threads take consecutive
  // positions, so that the loads and the stores are free of bank conflicts.
  auto transpose = [&](const Cursor& c, int slot, int buffer) {
    const float* raw = smem + slot * raw_floats;
    float* op = smem + operand(buffer);
    const int first_lead = lead(c), units = c.chunks(args) * 2 * args.op_positions;
#pragma unroll 2
    for (int u = ctid; u < units; u += kConsumerThreads) {
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
      float* out = op + quad / 2 * (kSplit ? 2 : 1) * chunk_op_floats + quad % 2 * 4 * args.op_positions + 4 * j;
      *reinterpret_cast<float4*>(out) = make_float4(hi[0], hi[1], hi[2], hi[3]);
      if (kSplit) *reinterpret_cast<float4*>(out + chunk_op_floats) = make_float4(lo[0], lo[1], lo[2], lo[3]);
    }
    fence_shared_for_wgmma();               // the operand, to wgmma's reads once the consumers' barrier has been passed
    mbarrier_arrive(raw_empty + 8 * slot);  // this thread has read its part of the raw rows
  };

  // The item's wgmmas: per chunk and tap, the warpgroup's 64 weight rows against its 256 operand positions, the tap
  // b * dil positions further.
  auto issue = [&](const Cursor& c, int slot, int buffer) {
    const unsigned w_address =
        smem_address +
        (w_ring_offset + slot * (kSplit ? 2 : 1) * item_w_floats + row_block * kRowBlock * 4) * sizeof(float);
    const unsigned x_address =
        smem_address + (operand(buffer) + (lead(c) + position_block * kWarpgroupPositions) * 4) * sizeof(float);
    // Descriptor start addresses count 16-byte units.
    const uint64_t a_lo = item_w_floats / 4, b_lo = chunk_op_floats / 4;
    const int chunks = c.chunks(args);
    wgmma_fence();
    for (int k = 0; k < chunks; ++k) {
      uint64_t a = wgmma_descriptor(w_address + k * w_floats * sizeof(float), args.tile_co * 16, 128);
      uint64_t b = wgmma_descriptor(x_address + k * (kSplit ? 2 : 1) * chunk_op_floats * sizeof(float),
                                    args.op_positions * 16, 128);
      for (int t = 0; t < args.taps; ++t, a += args.tile_co * kChunk / 4, b += args.dil) {
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

  // + bias, through shared memory so that a store instruction writes whole row segments (two rows x 32 positions)
  // rather than eight rows' 32-byte pieces: per round of 32 positions a warp parks its 16 rows in its slice of the
  // item's operand buffer (free once the item's wgmmas are done, until item i + 3 is transposed into it two steps
  // later), then writes them out two rows at a time.
  auto store = [&](const Cursor& c, int buffer) {
    float* park = smem + operand(buffer) + warp * kParkFloats;
    const int gq = lane / 4, tq = lane % 4, half = lane / 16, pair = lane % 16;
    const int warp_co = c.n_tile * args.tile_co + row_block * kRowBlock + warp % 4 * 16;
    // This lane writes rows 2 k + half.
    const int lane_co = warp_co + half;
    float* const first_row =
        args.dst + (int64_t{c.n} * args.dst_channels + c.g * args.dst_per_group + lane_co) * args.dst_len;
    float bias[kParkRows / 2];
#pragma unroll
    for (int k = 0; k < kParkRows / 2; ++k) {
      const int co = lane_co + 2 * k;
      bias[k] = co < args.dst_per_group && args.bias != nullptr ? args.bias[c.g * args.dst_per_group + co] : 0.f;
    }
#pragma unroll
    for (int round = 0; round < kWarpgroupPositions / kParkPositions; ++round) {
#pragma unroll
      for (int j = 0; j < kParkPositions / 8; ++j) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int nn = round * kParkPositions / 8 + j;
          *reinterpret_cast<float2*>(park + (gq + 8 * h) * kParkPitch + 8 * j + 2 * tq) =
              make_float2(acc[nn][2 * h], acc[nn][2 * h + 1]);
        }
      }
      __syncwarp();
      const int t = c.t0 + position_block * kWarpgroupPositions + round * kParkPositions + 2 * pair;
#pragma unroll
      for (int k = 0; k < kParkRows / 2; ++k) {
        const float2 v = *reinterpret_cast<const float2*>(park + (2 * k + half) * kParkPitch + 2 * pair);
        if (lane_co + 2 * k >= args.dst_per_group) continue;
        float* row = first_row + int64_t{2 * k} * args.dst_len;
        if (args.pairs && t + 1 < args.dst_len) {
          *reinterpret_cast<float2*>(row + t) = make_float2(v.x + bias[k], v.y + bias[k]);
        } else {
          if (t < args.dst_len) row[t] = v.x + bias[k];
          if (t + 1 < args.dst_len) row[t + 1] = v.y + bias[k];
        }
      }
      __syncwarp();
    }
  };

  // Item i: issue its wgmmas; transpose item i + 1 while they run (its raw slot goes back to the producer); once item
  // i - 1's wgmmas are done, its weight slot goes back; a tile's last item waits for its own and stores the tile. The
  // barrier at the end of each step publishes item i + 1's operand and retires buffer (i - 1) % 3 in both warpgroups.
  Cursor current = first, next = first;
  mbarrier_wait(raw_loaded, 0);
  transpose(next, 0, 0);
  named_barrier_sync<1, kConsumerThreads>();
  for (int i = 0, slot = 0, parity = 0, buffer = 0, previous = 0; i < items; ++i) {
    mbarrier_wait(w_loaded + 8 * slot, parity);
    issue(current, slot, buffer);
    const int next_slot = slot + 1 == args.stages ? 0 : slot + 1, next_parity = next_slot == 0 ? parity ^ 1 : parity;
    const int next_buffer = buffer + 1 == kOperandBuffers ? 0 : buffer + 1;
    if (i + 1 < items) {
      next.advance(args);
      mbarrier_wait(raw_loaded + 8 * next_slot, next_parity);
      transpose(next, next_slot, next_buffer);
    }
    wgmma_wait<1>();
    if (i > 0) mbarrier_arrive(w_empty + 8 * previous);
    if (current.last_of_tile(args)) {
      wgmma_wait<0>();
      store(current, buffer);
    }
    named_barrier_sync<1, kConsumerThreads>();
    current.advance(args);
    previous = slot;
    slot = next_slot;
    parity = next_parity;
    buffer = next_buffer;
  }
  wgmma_wait<0>();  // (the last item's wgmmas are done already; without it the compiler waits at every step)
#endif
}

// Tiles of 64 dst channels x 512 positions for groups of up to 64 channels, of 128 x 256 for wider ones (one operand
// then serves 128 channels, so that each src chunk is copied and transposed once per 128).
bool plan_and_launch(RowArgs args, const RowCorrelation& c, const at::Tensor& w, bool split) {
  const cudaDeviceProp* props = at::cuda::getCurrentDeviceProperties();
  const int64_t row_blocks = c.dst_per_group > kRowBlock ? 2 : 1;
  const int64_t tile_co = row_blocks * kRowBlock, tile_positions = 2 / row_blocks * kWarpgroupPositions;
  const int64_t halo = (c.taps - 1) * c.dil;
  const int64_t op_positions = (3 + tile_positions + halo + 3) / 4 * 4;  // lead <= 3, then the tile and its halo
  const int64_t raw_pitch = op_positions + 8;  // a quad before the lead, and up to 3 positions of phase after
  const int64_t w_floats = c.taps * tile_co * kChunk;
  const int64_t parts = split ? 2 : 1;
  // Two chunks per item (half the barriers and waits per wgmma) when that still leaves four stages in each ring.
  int64_t chunks_per_item = 0, stages = 0, raw_floats = 0, item_w_floats = 0, op_floats = 0;
  for (int64_t cpi = 2; cpi >= 1 && stages < 4; --cpi) {
    chunks_per_item = cpi;
    raw_floats = cpi * kChunk * raw_pitch;
    item_w_floats = cpi * w_floats * parts;
    op_floats = std::max<int64_t>(cpi * kChunk * op_positions * parts, kConsumerThreads / 32 * kParkFloats);
    const int64_t free_bytes = static_cast<int64_t>(props->sharedMemPerBlockOptin) - kOperandBuffers * op_floats * 4;
    stages = std::min<int64_t>(kMaxStages, free_bytes / ((raw_floats + item_w_floats) * int64_t{sizeof(float)} + 32));
  }
  const int64_t p_tiles = (c.dst_len + tile_positions - 1) / tile_positions;
  const int64_t n_tiles = (c.dst_per_group + tile_co - 1) / tile_co;
  const int64_t tiles = c.batch * c.groups * p_tiles * n_tiles;
  if (stages < 3 || tiles > INT_MAX) return false;  // (the consumers hold two weight slots while they wait for a third)

  args.row_blocks = static_cast<int>(row_blocks);
  args.tile_co = static_cast<int>(tile_co);
  args.tile_positions = static_cast<int>(tile_positions);
  args.chunks_per_item = static_cast<int>(chunks_per_item);
  args.items_per_tile = static_cast<int>((args.chunks + chunks_per_item - 1) / chunks_per_item);
  args.stages = static_cast<int>(stages);
  args.raw_pitch = static_cast<int>(raw_pitch);
  args.op_positions = static_cast<int>(op_positions);
  args.op_positions_div = Divider(static_cast<unsigned>(op_positions));
  args.op_floats = static_cast<int>(op_floats);
  args.n_tiles = static_cast<int>(n_tiles);
  args.p_tiles = static_cast<int>(p_tiles);
  args.tiles = static_cast<int>(tiles);
  const PackedWeights packed = pack_tensor_core_weights(w, c.layout, c.groups, c.taps, c.red_per_group, c.dst_per_group,
                                                        static_cast<int>(tile_co), /*k_major=*/true, split);
  args.w_hi = packed.hi.const_data_ptr<float>();
  args.w_lo = split ? packed.lo.const_data_ptr<float>() : nullptr;

  const int64_t smem_bytes =
      (stages * (raw_floats + item_w_floats) + kOperandBuffers * op_floats) * int64_t{sizeof(float)} + stages * 32;
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
  // Groups of more than 32 dst channels: narrower ones would leave most of a 64-row wgmma empty (the general engine's
  // narrow tiles take them).
  if (!kBuiltForSm90a || props->major != 9 || props->minor != 0 || c.dst_per_group <= 32) return false;
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
