// The tensor-core path of the CUDA convolution kernels (forward and transposed at unit stride), kept in its own
// translation unit.
#pragma once

#include <ATen/ATen.h>

#include "ops/conv2d/conv2d.h"

namespace fusedops {

// Float32 `forward` (!transposed: dst = y from src = x) or `transposed` (dst = x from src = y) of the Conv2dKernels
// table on tensor cores: TF32 mma.sync, or 3xTF32 for full float32 accuracy. Returns false, writing nothing, when
// this GPU or this call (a stride other than 1, sizes) is outside what the kernel covers. `moments`, when given,
// receives dst's tile moments.
bool conv2d_tensor_core(const Conv2dGeometry& g, bool transposed, const at::Tensor& src, const at::Tensor& w,
                        const at::Tensor& bias, at::Tensor& dst, bool full_fp32, TileMoments* moments = nullptr);

}  // namespace fusedops
