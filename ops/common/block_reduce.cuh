// Block-wide sums shared by the normalization kernels (GroupNorm engine, the L2_11 chain).
#pragma once

#include <cstdint>
#include <cub/block/block_reduce.cuh>

namespace fusedops {

// K running sums reduced together (one block reduction instead of K).
template <typename T, int K>
struct Sums {
  T v[K];
  __device__ Sums operator+(const Sums& o) const {
    Sums r;
#pragma unroll
    for (int k = 0; k < K; ++k) r.v[k] = v[k] + o.v[k];
    return r;
  }
};

// The block-wide sum, returned to every thread (blockDim.x == kThreads).
template <int kThreads, typename T, int K>
__device__ Sums<T, K> block_sum(const Sums<T, K>& mine) {
  using Reduce = cub::BlockReduce<Sums<T, K>, kThreads>;
  __shared__ typename Reduce::TempStorage temp;
  __shared__ Sums<T, K> total;
  const Sums<T, K> r = Reduce(temp).Reduce(mine, [](const Sums<T, K>& a, const Sums<T, K>& b) { return a + b; });
  if (threadIdx.x == 0) total = r;
  __syncthreads();
  const Sums<T, K> out = total;
  __syncthreads();  // temp and total are reused by the next call
  return out;
}

// Calls fn(i) for every i in [0, n) this thread owns, kUnroll loads issued before they are used.
template <int kUnroll, typename Fn>
__device__ void for_each_owned(int64_t n, Fn&& fn) {
  for (int64_t base = threadIdx.x; base < n; base += int64_t{kUnroll} * blockDim.x) {
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t i = base + int64_t{u} * blockDim.x;
      if (i < n) fn(i);
    }
  }
}

}  // namespace fusedops
