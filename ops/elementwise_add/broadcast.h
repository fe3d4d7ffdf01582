// Element offsets of two broadcast operands, for the strided (non-contiguous or broadcasting) path.
#pragma once

#include <ATen/ATen.h>

#include "ops/common/checks.h"

#ifdef __CUDACC__
#define FUSEDOPS_HOST_DEVICE __host__ __device__
#else
#define FUSEDOPS_HOST_DEVICE
#endif

namespace fusedops {

// Passed to kernels by value; 25 dims is what ATen's own OffsetCalculator supports.
struct BroadcastOffsets {
  static constexpr int kMaxDims = 25;
  int ndim;
  int64_t sizes[kMaxDims];
  int64_t a_strides[kMaxDims];
  int64_t b_strides[kMaxDims];

  // `a` and `b` already expanded to `out`'s shape (broadcast dims have stride 0).
  BroadcastOffsets(const at::Tensor& a, const at::Tensor& b) : ndim(static_cast<int>(a.dim())) {
    TORCH_CHECK(ndim <= kMaxDims, "fusedops::add: at most ", text(kMaxDims), " dimensions are supported, got ",
                text(ndim));
    for (int d = 0; d < ndim; ++d) {
      sizes[d] = a.size(d);
      a_strides[d] = a.stride(d);
      b_strides[d] = b.stride(d);
    }
  }

  // Offsets (in elements) of the operands feeding output element `linear` (row-major).
  FUSEDOPS_HOST_DEVICE void offsets(int64_t linear, int64_t& a_off, int64_t& b_off) const {
    a_off = 0;
    b_off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t coord = linear % sizes[d];
      linear /= sizes[d];
      a_off += coord * a_strides[d];
      b_off += coord * b_strides[d];
    }
  }
};

}  // namespace fusedops
