// conv_transpose1d forward for float32 on tensor cores: an implicit GEMM per (batch, group).
//
// The output splits into `stride` phases r = t mod stride. Within a phase, output u (t = r + stride * u)
// reads input l = u + c_k for each tap k with (r + padding - k * dilation) divisible by stride,
// c_k = (r + padding - k * dilation) / stride, so each phase is a stride-1 correlation and no
// multiply is wasted on taps that do not land on it. A block computes a kTileM x kTileU tile of
// (output channel, u) for one phase: GEMM M = C_out/groups, N = u, K = C_in/groups x taps.
//
// For each 8-channel chunk a pipeline stage holds (a) the input slab covering the tile plus the taps'
// halo, read once from PyTorch's (N, C, L) layout and shared by every tap, stored with channels c and
// c + 4 side by side so a B fragment is one 8-byte load; (b) the chunk's weights, pre-packed in mma
// A-fragment order (one 16-byte load per fragment). Three stages deep with cp.async.
// mma.sync m16n8k8 TF32 with float32 accumulation; with full_fp32 the operands are split into TF32
// hi + lo parts and each product is hi*hi + hi*lo + lo*hi (3xTF32), which keeps float32 accuracy.
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>

#include <climits>
#include <cstdlib>

#include "ops/common/cuda_launch.cuh"
#include "ops/conv_transpose1d/cuda_tensor_core.cuh"

namespace fusedops {
namespace {

constexpr int kThreads = 256;  // 8 warps: 2 along C_out x 4 along u
constexpr int kChunk = 8;      // input channels per pipeline stage: the mma's K
constexpr int kStages = 3;

struct TensorCoreArgs {
  const float* x;
  const float* w_hi;  // packed weights (pack_weights_kernel)
  const float* w_lo;
  const float* bias;  // nullptr when there is none
  float* out;
  int64_t in_channels, length, out_channels, out_length;
  int taps, in_per_group, out_per_group, m16_tiles, chunks, groups;
  int stride, padding, dilation;
  int m_tiles, u_tiles, slab_len, slab_pairs;  // slab_pairs: row stride of the slab in float2
};

__device__ __forceinline__ uint32_t to_tf32(float x) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
}

__host__ __device__ inline int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

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

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define FUSEDOPS_HAS_MMA_TF32 1
__device__ __forceinline__ void mma_tf32(float (&c)[4], const float4& a, uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(__float_as_uint(a.x)), "r"(__float_as_uint(a.y)), "r"(__float_as_uint(a.z)), "r"(__float_as_uint(a.w)),
        "r"(b0), "r"(b1));
}

// 4-byte copy, zero-filled when !valid (then nothing is read).
__device__ __forceinline__ void cp_async4(float* smem, const float* gmem, bool valid) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(gmem), "r"(valid ? 4 : 0));
}

__device__ __forceinline__ void cp_async16(float* smem, const float* gmem) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(gmem));
}
#endif

template <int kTileM, int kTileU, bool kSplit>
__global__ void __launch_bounds__(kThreads, 1) conv_transpose1d_tf32_kernel(const TensorCoreArgs args) {
#ifdef FUSEDOPS_HAS_MMA_TF32
  constexpr int kWarpM = kTileM / 2, kWarpU = kTileU / 4;
  constexpr int kMTiles = kWarpM / 16, kNTiles = kWarpU / 8;
  constexpr int kWFloatsPerTap = kTileM * kChunk;
  extern __shared__ __align__(16) float smem[];

  const int s = args.stride, taps = args.taps;
  const int x_floats = kChunk * args.slab_pairs;
  const int w_floats = taps * kWFloatsPerTap;
  const int stage_floats = x_floats + w_floats * (kSplit ? 2 : 1);

  // Block -> (batch, group, phase, u tile, channel tile); the channel tile varies fastest so that
  // blocks sharing an input slab run together.
  int64_t id = blockIdx.x;
  const int m_tile = static_cast<int>(id % args.m_tiles);
  id /= args.m_tiles;
  const int u_tile = static_cast<int>(id % args.u_tiles);
  id /= args.u_tiles;
  const int phase = static_cast<int>(id % s);
  id /= s;
  const int g = static_cast<int>(id % args.groups);
  const int64_t n = id / args.groups;
  const int64_t u0 = int64_t{u_tile} * kTileU;
  const int64_t phase_length = (args.out_length - phase + s - 1) / s;
  if (u0 >= phase_length) return;
  const int m0 = m_tile * kTileM;

  // Taps of this phase: tap k reads slab column u_local + (num_k - c_base * s) / s when s divides num_k.
  const int c_base = floor_div(phase + args.padding - (taps - 1) * args.dilation, s);
  const int64_t l_first = u0 + c_base;
  bool any_tap = false;
  for (int k = 0; k < taps; ++k) any_tap |= (phase + args.padding - k * args.dilation - c_base * s) % s == 0;

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int gq = lane / 4, tq = lane % 4;  // mma fragment coordinates
  const int wm0 = (warp % 2) * kWarpM, wu0 = (warp / 2) * kWarpU;

  const float* x_group = args.x + (n * args.in_channels + int64_t{g} * args.in_per_group) * args.length;
  auto load_stage = [&](int chunk, int buf) {
    float* x_s = smem + buf * stage_floats;
    // One warp per input channel of the chunk: a contiguous run of the input row.
    const int ci = chunk * kChunk + warp;
    const float* row = x_group + int64_t{ci} * args.length;
    float* x_row = x_s + (warp % 4) * 2 * args.slab_pairs + warp / 4;
    for (int j = lane; j < args.slab_len; j += 32) {
      const int64_t l = l_first + j;
      const bool valid = ci < args.in_per_group && l >= 0 && l < args.length;
      cp_async4(x_row + 2 * j, valid ? row + l : args.x, valid);
    }
    const int64_t w_tap0 = (int64_t{g} * args.chunks + chunk) * taps;
    for (int e = tid; e < taps * kWFloatsPerTap / 4; e += kThreads) {
      const int k = e / (kWFloatsPerTap / 4), v = e % (kWFloatsPerTap / 4) * 4;
      const int64_t src = ((w_tap0 + k) * args.m16_tiles + m0 / 16) * 128 + v;
      cp_async16(x_s + x_floats + k * kWFloatsPerTap + v, args.w_hi + src);
      if (kSplit) cp_async16(x_s + x_floats + w_floats + k * kWFloatsPerTap + v, args.w_lo + src);
    }
  };

  float acc[kMTiles][kNTiles][4] = {};
  const int chunks = any_tap ? args.chunks : 0;  // a phase no tap reaches holds the bias alone
#pragma unroll
  for (int st = 0; st < kStages - 1; ++st) {
    if (st < chunks) load_stage(st, st);
    asm volatile("cp.async.commit_group;\n");
  }
  for (int chunk = 0; chunk < chunks; ++chunk) {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(kStages - 2));
    __syncthreads();  // stage `chunk` visible to all; the buffer refilled below is no longer read
    if (chunk + kStages - 1 < chunks) load_stage(chunk + kStages - 1, (chunk + kStages - 1) % kStages);
    asm volatile("cp.async.commit_group;\n");

    const float* x_s = smem + (chunk % kStages) * stage_floats;
    const float2* x_pairs = reinterpret_cast<const float2*>(x_s) + tq * args.slab_pairs + wu0 + gq;
    const float4* w_hi = reinterpret_cast<const float4*>(x_s + x_floats) + (wm0 / 16) * 32 + lane;
    for (int k = 0; k < taps; ++k) {
      const int num = phase + args.padding - k * args.dilation - c_base * s;
      if (num % s != 0) continue;
      const int offset = num / s;
      float4 a_hi[kMTiles], a_lo[kMTiles];
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt) {
        a_hi[mt] = w_hi[k * (kWFloatsPerTap / 4) + mt * 32];
        if (kSplit) a_lo[mt] = w_hi[w_floats / 4 + k * (kWFloatsPerTap / 4) + mt * 32];
      }
#pragma unroll
      for (int nt = 0; nt < kNTiles; ++nt) {
        const float2 v = x_pairs[nt * 8 + offset];
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
  asm volatile("cp.async.wait_group 0;\n");

  // Epilogue: + bias, straight to (N, C_out, L_out) at t = phase + stride * u.
  float* out_group = args.out + (n * args.out_channels + int64_t{g} * args.out_per_group) * args.out_length;
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int co = m0 + wm0 + mt * 16 + gq + half * 8;
      if (co >= args.out_per_group) continue;
      const float b = args.bias != nullptr ? args.bias[int64_t{g} * args.out_per_group + co] : 0.f;
      float* out_row = out_group + int64_t{co} * args.out_length + phase;
#pragma unroll
      for (int nt = 0; nt < kNTiles; ++nt) {
        const int64_t u = u0 + wu0 + nt * 8 + 2 * tq;
        if (u < phase_length) out_row[u * s] = acc[mt][nt][half * 2] + b;
        if (u + 1 < phase_length) out_row[(u + 1) * s] = acc[mt][nt][half * 2 + 1] + b;
      }
    }
  }
#endif
}

template <int kTileM, int kTileU>
void launch(const TensorCoreArgs& args, int64_t blocks, size_t smem_bytes, cudaStream_t stream, bool split) {
  auto* kernel = split ? conv_transpose1d_tf32_kernel<kTileM, kTileU, true>
                       : conv_transpose1d_tf32_kernel<kTileM, kTileU, false>;
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
  static const int tile_u = getenv("FUSEDOPS_TILE_U") ? atoi(getenv("FUSEDOPS_TILE_U")) : 256;  // TUNING ONLY
  const int64_t halo = (s.kernel - 1) * s.p.dilation;
  const int64_t slab_len = tile_u + (halo + s.p.stride - 1) / s.p.stride;
  // Pair-row stride = 4 (mod 16) float2: the 8-byte fragment loads of a half-warp hit 32 distinct banks.
  const int64_t slab_pairs = (slab_len + 11) / 16 * 16 + 4;
  const int64_t stage_floats = kChunk * slab_pairs + s.kernel * tile_m * kChunk * (full_fp32 ? 2 : 1);
  const size_t smem_bytes = kStages * stage_floats * sizeof(float);
  const int64_t m_tiles = (s.out_per_group + tile_m - 1) / tile_m;
  const int64_t u_tiles = ((s.out_length + s.p.stride - 1) / s.p.stride + tile_u - 1) / tile_u;
  const int64_t blocks = s.batch * s.p.groups * s.p.stride * m_tiles * u_tiles;
  if (smem_bytes > props->sharedMemPerBlockOptin || blocks > INT_MAX || s.p.padding > INT_MAX / 4 ||
      halo > INT_MAX / 4 || s.p.stride > INT_MAX / 4) {
    return false;
  }

  const int chunks = static_cast<int>((s.in_per_group + kChunk - 1) / kChunk);
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

  const TensorCoreArgs args{input.const_data_ptr<float>(),
                            w_hi.const_data_ptr<float>(),
                            full_fp32 ? w_lo.const_data_ptr<float>() : nullptr,
                            bias.defined() ? bias.const_data_ptr<float>() : nullptr,
                            out.mutable_data_ptr<float>(),
                            s.in_channels,
                            s.length,
                            s.out_channels,
                            s.out_length,
                            static_cast<int>(s.kernel),
                            static_cast<int>(s.in_per_group),
                            static_cast<int>(s.out_per_group),
                            m16_tiles,
                            chunks,
                            static_cast<int>(s.p.groups),
                            static_cast<int>(s.p.stride),
                            static_cast<int>(s.p.padding),
                            static_cast<int>(s.p.dilation),
                            static_cast<int>(m_tiles),
                            static_cast<int>(u_tiles),
                            static_cast<int>(slab_len),
                            static_cast<int>(slab_pairs)};
  if (tile_m == 128) {
    tile_u == 256 ? launch<128, 256>(args, blocks, smem_bytes, stream, full_fp32) : launch<128, 128>(args, blocks, smem_bytes, stream, full_fp32);
  } else {
    tile_u == 256 ? launch<64, 256>(args, blocks, smem_bytes, stream, full_fp32) : launch<64, 128>(args, blocks, smem_bytes, stream, full_fp32);
  }
  return true;
}

}  // namespace fusedops
