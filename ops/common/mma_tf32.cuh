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

// hi = x rounded to TF32; with kSplit, lo = the rounding error, rounded: the operand pair of 3xTF32.
template <bool kSplit>
__device__ __forceinline__ void split_tf32(float x, uint32_t& hi, uint32_t& lo) {
  hi = to_tf32(x);
  if constexpr (kSplit) lo = to_tf32(x - __uint_as_float(hi));
}

// The shared-memory address of a generic pointer into shared memory.
__device__ __forceinline__ unsigned shared_address(const float* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
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

// Shared-memory barriers (mbarrier) and named barriers, for kernels whose warps hand stages to each other.
__device__ __forceinline__ void mbarrier_init(unsigned address, unsigned count) {
#ifdef FUSEDOPS_HAS_WGMMA
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(address), "r"(count) : "memory");
#endif
}

// This thread's arrival, releasing its earlier shared-memory writes to the threads that wait for the phase.
__device__ __forceinline__ void mbarrier_arrive(unsigned address) {
#ifdef FUSEDOPS_HAS_WGMMA
  asm volatile("{\n.reg .b64 state;\nmbarrier.arrive.shared::cta.b64 state, [%0];\n}\n" ::"r"(address) : "memory");
#endif
}

// This thread's arrival, also expecting `bytes` more of asynchronous copies (bulk_copy) before the phase completes.
__device__ __forceinline__ void mbarrier_arrive_expect_bytes(unsigned address, unsigned bytes) {
#ifdef FUSEDOPS_HAS_WGMMA
  asm volatile("{\n.reg .b64 state;\nmbarrier.arrive.expect_tx.shared::cta.b64 state, [%0], %1;\n}\n" ::"r"(address),
               "r"(bytes)
               : "memory");
#endif
}

// Copies `bytes` (a multiple of 16; both addresses 16-byte aligned) from global to shared memory with the TMA unit,
// completing them on the mbarrier at `barrier`. Unlike cp.async, the copy does not hold up this thread's fences.
__device__ __forceinline__ void bulk_copy(unsigned smem, const void* gmem, unsigned bytes, unsigned barrier) {
#ifdef FUSEDOPS_HAS_WGMMA
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n" ::"r"(smem),
               "l"(gmem), "r"(bytes), "r"(barrier)
               : "memory");
#endif
}

// An arrival on the barrier once this thread's earlier cp.async copies have landed (counted in the barrier's expected
// arrivals).
__device__ __forceinline__ void cp_async_arrive(unsigned address) {
#ifdef FUSEDOPS_HAS_WGMMA
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(address) : "memory");
#endif
}

// Waits until the barrier's phase of parity `parity` (its k-th phase: parity k % 2) has completed.
__device__ __forceinline__ void mbarrier_wait(unsigned address, unsigned parity) {
#ifdef FUSEDOPS_HAS_WGMMA
  asm volatile(
      "{\n.reg .pred done;\nretry:\nmbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n@!done bra retry;\n}\n" ::
          "r"(address),
      "r"(parity)
      : "memory");
#endif
}

// A barrier among `kThreads` threads (whole warps) on named barrier `kId` (0 is __syncthreads's).
template <int kId, int kThreads>
__device__ __forceinline__ void named_barrier_sync() {
  asm volatile("bar.sync %0, %1;\n" ::"n"(kId), "n"(kThreads) : "memory");
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

// d = A * B + (accumulate ? d : 0) for a warpgroup's 64 x 256 x 8 tile, all TF32, both operands K-major in shared
// memory (`a` and `b` from wgmma_descriptor); d[n][0..3] as in wgmma_m64n128k8_tf32, for columns 8 n .. 8 n + 7.
// Starting a tile with accumulate = false, rather than zeroing d, keeps non-wgmma instructions off the accumulators
// (which would make the compiler serialize the wgmmas).
__device__ __forceinline__ void wgmma_m64n256k8_tf32(float (&d)[32][4], uint64_t a, uint64_t b, bool accumulate) {
#ifdef FUSEDOPS_HAS_WGMMA
  asm volatile(
      "{\n.reg .pred accumulate;\nsetp.ne.b32 accumulate, %130, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n256k8.f32.tf32.tf32 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12,"
      " %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, "
      "%34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, "
      "%55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, "
      "%76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, "
      "%97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, "
      "%115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, %128, %129, accumulate, 1, "
      "1;\n}\n"
      : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]),
        "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]),
        "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]),
        "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]),
        "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3]), "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]),
        "+f"(d[8][3]), "+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3]), "+f"(d[10][0]), "+f"(d[10][1]),
        "+f"(d[10][2]), "+f"(d[10][3]), "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]), "+f"(d[11][3]), "+f"(d[12][0]),
        "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]), "+f"(d[13][0]), "+f"(d[13][1]), "+f"(d[13][2]), "+f"(d[13][3]),
        "+f"(d[14][0]), "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]), "+f"(d[15][0]), "+f"(d[15][1]), "+f"(d[15][2]),
        "+f"(d[15][3]), "+f"(d[16][0]), "+f"(d[16][1]), "+f"(d[16][2]), "+f"(d[16][3]), "+f"(d[17][0]), "+f"(d[17][1]),
        "+f"(d[17][2]), "+f"(d[17][3]), "+f"(d[18][0]), "+f"(d[18][1]), "+f"(d[18][2]), "+f"(d[18][3]), "+f"(d[19][0]),
        "+f"(d[19][1]), "+f"(d[19][2]), "+f"(d[19][3]), "+f"(d[20][0]), "+f"(d[20][1]), "+f"(d[20][2]), "+f"(d[20][3]),
        "+f"(d[21][0]), "+f"(d[21][1]), "+f"(d[21][2]), "+f"(d[21][3]), "+f"(d[22][0]), "+f"(d[22][1]), "+f"(d[22][2]),
        "+f"(d[22][3]), "+f"(d[23][0]), "+f"(d[23][1]), "+f"(d[23][2]), "+f"(d[23][3]), "+f"(d[24][0]), "+f"(d[24][1]),
        "+f"(d[24][2]), "+f"(d[24][3]), "+f"(d[25][0]), "+f"(d[25][1]), "+f"(d[25][2]), "+f"(d[25][3]), "+f"(d[26][0]),
        "+f"(d[26][1]), "+f"(d[26][2]), "+f"(d[26][3]), "+f"(d[27][0]), "+f"(d[27][1]), "+f"(d[27][2]), "+f"(d[27][3]),
        "+f"(d[28][0]), "+f"(d[28][1]), "+f"(d[28][2]), "+f"(d[28][3]), "+f"(d[29][0]), "+f"(d[29][1]), "+f"(d[29][2]),
        "+f"(d[29][3]), "+f"(d[30][0]), "+f"(d[30][1]), "+f"(d[30][2]), "+f"(d[30][3]), "+f"(d[31][0]), "+f"(d[31][1]),
        "+f"(d[31][2]), "+f"(d[31][3])
      : "l"(a), "l"(b), "r"(static_cast<int>(accumulate)));
#else
  __trap();
#endif
}

}  // namespace fusedops
