// Device helpers of the float32 tensor-core convolutions: TF32 rounding, mma.sync m16n8k8 and cp.async.
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

}  // namespace fusedops
