// conv_transpose1d forward for float32 on tensor cores: an implicit GEMM per (batch, group),
//   out[co, t] = bias[co] + sum_{ci, k} W[ci, co, k] * x[ci, (t + padding - k * dilation) / stride]
// with M = C_out/groups, N = L_out, K = C_in/groups * taps. A block computes a BM x 128 tile of
// (co, t) reading the input in PyTorch's (N, C, L) layout: for each 8-channel chunk it stages one slab of
// input (the tile's span plus the taps' halo, loaded once and reused by every tap) and that chunk's
// weights, double-buffered with cp.async. mma.sync m16n8k8 TF32; with full_fp32 each product is split
// into hi + lo TF32 parts (3xTF32: hi*hi + hi*lo + lo*hi), which keeps float32 accuracy.
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>

#include <climits>

#include "ops/common/cuda_launch.cuh"
#include "ops/conv_transpose1d/cuda_tensor_core.cuh"

namespace fusedops {
namespace {

constexpr int kThreads = 256;  // 8 warps: 2 along C_out x 4 along L_out
constexpr int kChunk = 8;      // input channels per pipeline stage: the mma's K
constexpr int kTileT = 128;    // outputs along L per block

struct TensorCoreArgs {
  const float* x;
  const float* w_hi;  // packed weights, see pack_weights_kernel
  const float* w_lo;
  const float* bias;  // nullptr when there is none
  float* out;
  int64_t in_channels, length, out_channels, out_length;
  int taps, in_per_group, out_per_group, out_padded, chunks, groups;
  int stride, padding, dilation;
  int m_tiles, t_tiles, slab_len, xs_stride, ws_stride;
};

__device__ __forceinline__ uint32_t to_tf32(float x) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
}

// Weights reordered to [group][chunk][tap][channel in chunk][co padded to the tile], rounded to TF32
// (hi) with the rounding error in lo, zero past the real channels: every stage then loads whole
// 16-byte rows with no bounds checks and the fragments need no conversion.
__global__ void pack_weights_kernel(const float* __restrict__ w, float* __restrict__ hi, float* __restrict__ lo,
                                    int64_t total, int taps, int in_per_group, int out_per_group, int out_padded,
                                    int chunks) {
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    int64_t r = i;
    const int m = static_cast<int>(r % out_padded);
    r /= out_padded;
    const int c = static_cast<int>(r % kChunk);
    r /= kChunk;
    const int k = static_cast<int>(r % taps);
    r /= taps;
    const int chunk = static_cast<int>(r % chunks);
    const int64_t g = r / chunks;
    const int ci = chunk * kChunk + c;
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
#endif

#ifdef FUSEDOPS_HAS_MMA_TF32
__device__ __forceinline__ void mma_tf32(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
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

__host__ __device__ inline int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// kStride: the stride when known at compile time (1), or 0 to read it from args.
template <int kTileM, int kStride, bool kSplit>
__global__ void __launch_bounds__(kThreads) conv_transpose1d_tf32_kernel(const TensorCoreArgs args) {
#ifdef FUSEDOPS_HAS_MMA_TF32
  constexpr int kWarpM = kTileM / 2, kWarpT = kTileT / 4;
  constexpr int kMTiles = kWarpM / 16, kNTiles = kWarpT / 8;
  extern __shared__ __align__(16) float smem[];

  const int stride = kStride > 0 ? kStride : args.stride;
  const int taps = args.taps;
  const int xs = args.xs_stride, ws = args.ws_stride;
  const int w_floats = taps * kChunk * ws;
  const int stage_floats = kChunk * xs + w_floats * (kSplit ? 2 : 1);

  // Block -> (batch, group, time tile, channel tile); the channel tile varies fastest so that blocks
  // sharing an input slab run together.
  int64_t id = blockIdx.x;
  const int m_tile = static_cast<int>(id % args.m_tiles);
  id /= args.m_tiles;
  const int t_tile = static_cast<int>(id % args.t_tiles);
  id /= args.t_tiles;
  const int g = static_cast<int>(id % args.groups);
  const int64_t n = id / args.groups;
  const int m0 = m_tile * kTileM;
  const int64_t t0 = int64_t{t_tile} * kTileT;
  const int64_t l_first = floor_div(t0 + args.padding - int64_t{taps - 1} * args.dilation, stride);

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int gq = lane / 4, tq = lane % 4;  // mma fragment coordinates
  const int wm0 = (warp % 2) * kWarpM, wt0 = (warp / 2) * kWarpT;

  const float* x_group = args.x + (n * args.in_channels + int64_t{g} * args.in_per_group) * args.length;
  auto load_stage = [&](int chunk, int buf) {
    float* xs_buf = smem + buf * stage_floats;
    // One warp per input channel of the chunk: a contiguous run of the slab.
    const int ci = chunk * kChunk + warp;
    const float* row = x_group + int64_t{ci} * args.length;
    for (int j = lane; j < args.slab_len; j += 32) {
      const int64_t l = l_first + j;
      const bool valid = ci < args.in_per_group && l >= 0 && l < args.length;
      cp_async4(xs_buf + warp * xs + j, valid ? row + l : args.x, valid);
    }
    const int64_t w_base = ((int64_t{g} * args.chunks + chunk) * taps * kChunk) * args.out_padded + m0;
    constexpr int kVecPerRow = kTileM / 4;
    for (int e = tid; e < taps * kChunk * kVecPerRow; e += kThreads) {
      const int r = e / kVecPerRow, v = (e % kVecPerRow) * 4;
      cp_async16(xs_buf + kChunk * xs + r * ws + v, args.w_hi + w_base + int64_t{r} * args.out_padded + v);
      if (kSplit) {
        cp_async16(xs_buf + kChunk * xs + w_floats + r * ws + v, args.w_lo + w_base + int64_t{r} * args.out_padded + v);
      }
    }
  };

  float acc[kMTiles][kNTiles][4] = {};
  load_stage(0, 0);
  asm volatile("cp.async.commit_group;\n");
  for (int chunk = 0; chunk < args.chunks; ++chunk) {
    if (chunk + 1 < args.chunks) {
      load_stage(chunk + 1, (chunk + 1) & 1);
      asm volatile("cp.async.commit_group;\n");
      asm volatile("cp.async.wait_group 1;\n");
    } else {
      asm volatile("cp.async.wait_group 0;\n");
    }
    __syncthreads();
    const float* x_s = smem + (chunk & 1) * stage_floats;
    const float* w_s = x_s + kChunk * xs;
    for (int k = 0; k < taps; ++k) {
      uint32_t a_hi[kMTiles][4], a_lo[kMTiles][4];
      const float* wk = w_s + k * kChunk * ws;
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt) {
        const int m = wm0 + mt * 16 + gq;
        a_hi[mt][0] = __float_as_uint(wk[tq * ws + m]);
        a_hi[mt][1] = __float_as_uint(wk[tq * ws + m + 8]);
        a_hi[mt][2] = __float_as_uint(wk[(tq + 4) * ws + m]);
        a_hi[mt][3] = __float_as_uint(wk[(tq + 4) * ws + m + 8]);
        if (kSplit) {
#pragma unroll
          for (int i = 0; i < 4; ++i) a_lo[mt][i] = __float_as_uint(wk[w_floats + (i / 2 ? tq + 4 : tq) * ws + m + (i % 2) * 8]);
        }
      }
#pragma unroll
      for (int nt = 0; nt < kNTiles; ++nt) {
        const int t_local = wt0 + nt * 8 + gq;
        float v0 = 0.f, v1 = 0.f;
        if (kStride == 1) {
          const int j = t_local + (taps - 1 - k) * args.dilation;
          v0 = x_s[tq * xs + j];
          v1 = x_s[(tq + 4) * xs + j];
        } else {
          const int64_t q = t0 + t_local + args.padding - int64_t{k} * args.dilation - l_first * stride;
          if (q % stride == 0) {
            const int j = static_cast<int>(q / stride);
            v0 = x_s[tq * xs + j];
            v1 = x_s[(tq + 4) * xs + j];
          }
        }
        const uint32_t b0 = to_tf32(v0), b1 = to_tf32(v1);
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
          if (kSplit) {
            const uint32_t b0_lo = to_tf32(v0 - __uint_as_float(b0)), b1_lo = to_tf32(v1 - __uint_as_float(b1));
            mma_tf32(acc[mt][nt], a_lo[mt], b0, b1);
            mma_tf32(acc[mt][nt], a_hi[mt], b0_lo, b1_lo);
          }
          mma_tf32(acc[mt][nt], a_hi[mt], b0, b1);
        }
      }
    }
    __syncthreads();
  }

  // Epilogue: + bias, straight to (N, C_out, L_out).
  float* out_group = args.out + (n * args.out_channels + int64_t{g} * args.out_per_group) * args.out_length;
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int co = m0 + wm0 + mt * 16 + gq + half * 8;
      if (co >= args.out_per_group) continue;
      const float b = args.bias != nullptr ? args.bias[int64_t{g} * args.out_per_group + co] : 0.f;
      float* out_row = out_group + int64_t{co} * args.out_length;
#pragma unroll
      for (int nt = 0; nt < kNTiles; ++nt) {
        const int64_t t = t0 + wt0 + nt * 8 + 2 * tq;
        if (t < args.out_length) out_row[t] = acc[mt][nt][half * 2] + b;
        if (t + 1 < args.out_length) out_row[t + 1] = acc[mt][nt][half * 2 + 1] + b;
      }
    }
  }
#endif
}

template <int kTileM, int kStride, bool kSplit>
void launch(const TensorCoreArgs& args, int64_t blocks, size_t smem_bytes, cudaStream_t stream) {
  auto* kernel = conv_transpose1d_tf32_kernel<kTileM, kStride, kSplit>;
  C10_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem_bytes)));
  kernel<<<static_cast<unsigned>(blocks), kThreads, smem_bytes, stream>>>(args);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

template <int kTileM>
void launch_tile(const TensorCoreArgs& args, int64_t blocks, size_t smem_bytes, cudaStream_t stream, bool split) {
  if (args.stride == 1) {
    split ? launch<kTileM, 1, true>(args, blocks, smem_bytes, stream)
          : launch<kTileM, 1, false>(args, blocks, smem_bytes, stream);
  } else {
    split ? launch<kTileM, 0, true>(args, blocks, smem_bytes, stream)
          : launch<kTileM, 0, false>(args, blocks, smem_bytes, stream);
  }
}

}  // namespace

bool conv_transpose1d_forward_tensor_core(const ConvTranspose1dShape& s, const at::Tensor& input,
                                          const at::Tensor& weight, const at::Tensor& bias, at::Tensor& out,
                                          bool full_fp32) {
  const cudaDeviceProp* props = at::cuda::getCurrentDeviceProperties();
  if (props->major < 8) return false;
  const int tile_m = s.out_per_group > 64 ? 128 : 64;
  const int64_t halo = (s.kernel - 1) * s.p.dilation;
  const int64_t slab_len = (kTileT - 1 + halo + s.p.stride - 1) / s.p.stride + 1;
  // Row strides = 8 (mod 32) floats: the fragment loads of the 4 k-rows hit 32 different banks.
  const int64_t xs_stride = (slab_len + 23) / 32 * 32 + 8;
  const int ws_stride = tile_m + 8;
  const int64_t stage_floats = kChunk * xs_stride + s.kernel * kChunk * ws_stride * (full_fp32 ? 2 : 1);
  const size_t smem_bytes = 2 * stage_floats * sizeof(float);
  const int64_t m_tiles = (s.out_per_group + tile_m - 1) / tile_m;
  const int64_t t_tiles = (s.out_length + kTileT - 1) / kTileT;
  const int64_t blocks = s.batch * s.p.groups * m_tiles * t_tiles;
  if (smem_bytes > props->sharedMemPerBlockOptin || blocks > INT_MAX || s.p.padding > INT_MAX / 2 ||
      halo > INT_MAX / 2 || s.p.stride > INT_MAX / 2) {
    return false;
  }

  const int chunks = static_cast<int>((s.in_per_group + kChunk - 1) / kChunk);
  const int out_padded = static_cast<int>(m_tiles * tile_m);
  const int64_t packed = s.p.groups * chunks * s.kernel * kChunk * out_padded;
  const at::Tensor w_hi = at::empty({packed}, weight.options());
  const at::Tensor w_lo = full_fp32 ? at::empty({packed}, weight.options()) : at::Tensor();
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  pack_weights_kernel<<<grid_stride_blocks(packed, 256, 4), 256, 0, stream>>>(
      weight.const_data_ptr<float>(), w_hi.mutable_data_ptr<float>(),
      full_fp32 ? w_lo.mutable_data_ptr<float>() : nullptr, packed, static_cast<int>(s.kernel),
      static_cast<int>(s.in_per_group), static_cast<int>(s.out_per_group), out_padded, chunks);
  C10_CUDA_KERNEL_LAUNCH_CHECK();

  TensorCoreArgs args{input.const_data_ptr<float>(),
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
                      out_padded,
                      chunks,
                      static_cast<int>(s.p.groups),
                      static_cast<int>(s.p.stride),
                      static_cast<int>(s.p.padding),
                      static_cast<int>(s.p.dilation),
                      static_cast<int>(m_tiles),
                      static_cast<int>(t_tiles),
                      static_cast<int>(slab_len),
                      static_cast<int>(xs_stride),
                      ws_stride};
  if (tile_m == 128) {
    launch_tile<128>(args, blocks, smem_bytes, stream, full_fp32);
  } else {
    launch_tile<64>(args, blocks, smem_bytes, stream, full_fp32);
  }
  return true;
}

}  // namespace fusedops
