// The tensor-core forward of conv_transpose1d, kept in its own translation unit.
#pragma once

#include <ATen/ATen.h>

#include "ops/conv_transpose1d/conv_transpose1d.h"

namespace fusedops {

// Float32 forward on tensor cores (TF32 mma.sync, or 3xTF32 for full float32 accuracy). Returns false,
// writing nothing, when this GPU or these sizes are outside what the kernel covers.
bool conv_transpose1d_forward_tensor_core(const ConvTranspose1dShape& s, const at::Tensor& input,
                                          const at::Tensor& weight, const at::Tensor& bias, at::Tensor& out,
                                          bool full_fp32);

}  // namespace fusedops
