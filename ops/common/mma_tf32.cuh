// Device helpers of the float32 tensor-core convolutions: TF32 rounding, mma.sync m16n8k8, Hopper wgmma and cp.async.
#pragma once

#include <cstdint>

namespace fusedops {

// Rounds to TF32 (nearest, ties away), the low 13 mantissa bits zero. Also used by the weight packing kernels.
__device__ __forceinline__ uint32_t to_tf32(float x) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
}

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define FUSEDOPS_HAS_MMA_TF32 1
// c += A * B for one m16n8k8 tile, all TF32. With g = lane / 4, t = lane % 4: a0..a3 = A[g][t], A[g + 8][t],
// A[g][t + 4], A[g + 8][t + 4]; b0, b1 = B[t][g], B[t + 4][g]; c[0..3] = C[g][2t], C[g][2t + 1], C[g + 8][2t],
// C[g + 8][2t + 1].
__device__ __forceinline__ void mma_tf32(float (&c)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0,
                                         uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// The A fragment as pre-rounded floats (packed weights, one 16-byte load).
__device__ __forceinline__ void mma_tf32(float (&c)[4], const float4& a, uint32_t b0, uint32_t b1) {
  mma_tf32(c, __float_as_uint(a.x), __float_as_uint(a.y), __float_as_uint(a.z), __float_as_uint(a.w), b0, b1);
}

// 4-byte copy, zero-filled when !valid (then nothing is read).
__device__ __forceinline__ void cp_async4(float* smem, const float* gmem, bool valid) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(gmem), "r"(valid ? 4 : 0));
}

// 16-byte copy (both addresses 16-byte aligned), zero-filled when !valid (then nothing is read).
__device__ __forceinline__ void cp_async16(float* smem, const float* gmem, bool valid = true) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem), "r"(valid ? 16 : 0));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n"); }

// Waits until at most `kPending` of this thread's committed copy groups are still in flight.
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}
#endif

// Hopper's warpgroup MMA (wgmma, sm_90a only: on other targets the MMA traps and the fences and waits are empty; the
// host launches kernels that use them only on compute capability 9.0 when the library was built for sm_90a,
// FUSEDOPS_HAS_SM90A).
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define FUSEDOPS_HAS_WGMMA 1
#endif

// Orders this thread's register writes (A fragments, accumulators) before the warpgroup's next wgmma.
__device__ __forceinline__ void wgmma_fence() {
#ifdef FUSEDOPS_HAS_WGMMA
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}

// Closes the wgmmas issued since the last commit into a group.
__device__ __forceinline__ void wgmma_commit() {
#ifdef FUSEDOPS_HAS_WGMMA
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}

// Waits until at most kPending of this warpgroup's groups are in flight: the others' A registers and shared memory
// may then be reused.
template <int kPending>
__device__ __forceinline__ void wgmma_wait() {
#ifdef FUSEDOPS_HAS_WGMMA
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");
#endif
}

// A use of `a` that the compiler cannot drop: placed after the wait that retires the wgmmas reading `a`, it keeps the
// compiler from reusing those registers while they are still being read.
template <int kRows>
__device__ __forceinline__ void wgmma_retire(const uint32_t (&a)[kRows][4]) {
#pragma unroll
  for (int r = 0; r < kRows; ++r) asm volatile("" ::"r"(a[r][0]), "r"(a[r][1]), "r"(a[r][2]), "r"(a[r][3]));
}

// Makes shared memory written through the generic proxy (cp.async, stores) visible to wgmma's reads of it, once the
// barrier that follows has been passed.
__device__ __forceinline__ void fence_shared_for_wgmma() {
#ifdef FUSEDOPS_HAS_WGMMA
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

// The descriptor of a K-major operand at shared-memory byte address `address`, without swizzling: 8-row x 16-byte
// core matrices, rows 16 bytes apart, `k_stride` bytes between the two core matrices of a K = 8 (TF32) step,
// `mn_stride` bytes between consecutive groups of 8 rows.
__device__ __forceinline__ uint64_t wgmma_descriptor(uint32_t address, uint32_t k_stride, uint32_t mn_stride) {
  return uint64_t{(address >> 4) & 0x3FFFu} | uint64_t{(k_stride >> 4) & 0x3FFFu} << 16 |
         uint64_t{(mn_stride >> 4) & 0x3FFFu} << 32;
}

// d += A * B for a warpgroup's 64 x 128 x 8 tile, all TF32: A from registers, in each warp's 16 rows the m16n8k8
// fragment of mma_tf32 (warp w of the warpgroup: rows 16 w ..); B (8 x 128) from shared memory by `b`; d[n][0..3] the
// m16n8k8 C fragment of columns 8 n .. 8 n + 7.
__device__ __forceinline__ void wgmma_m64n128k8_tf32(float (&d)[16][4], uint32_t a0, uint32_t a1, uint32_t a2,
                                                     uint32_t a3, uint64_t b) {
#ifdef FUSEDOPS_HAS_WGMMA
  asm volatile(
      "{\n.reg .pred accumulate;\nsetp.ne.b32 accumulate, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, "
      "%13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, "
      "%35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, "
      "%57, %58, %59, %60, %61, %62, %63}, {%64, %65, %66, %67}, %68, accumulate, 1, 1;\n}\n"
      : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]),
        "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]),
        "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]),
        "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]),
        "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3]), "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]),
        "+f"(d[8][3]), "+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3]), "+f"(d[10][0]), "+f"(d[10][1]),
        "+f"(d[10][2]), "+f"(d[10][3]), "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]), "+f"(d[11][3]), "+f"(d[12][0]),
        "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]), "+f"(d[13][0]), "+f"(d[13][1]), "+f"(d[13][2]), "+f"(d[13][3]),
        "+f"(d[14][0]), "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]), "+f"(d[15][0]), "+f"(d[15][1]), "+f"(d[15][2]),
        "+f"(d[15][3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "l"(b), "r"(1));
#else
  __trap();
#endif
}

}  // namespace fusedops
