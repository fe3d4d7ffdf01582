// Launch helpers shared by the CUDA kernels.
#pragma once

#include <ATen/cuda/CUDAContext.h>

#include <algorithm>
#include <cstdint>

namespace fusedops {

// Blocks for a grid-stride loop over `work_items`: enough to fill every SM `blocks_per_sm` times over,
// no more (the loop covers the rest).
inline unsigned grid_stride_blocks(int64_t work_items, int threads, int blocks_per_sm) {
  const int64_t wanted = (work_items + threads - 1) / threads;
  const int64_t resident = int64_t{at::cuda::getCurrentDeviceProperties()->multiProcessorCount} * blocks_per_sm;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min(wanted, resident)));
}

}  // namespace fusedops
