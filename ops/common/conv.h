// Shared by the convolution families.
#pragma once

#include <ATen/ATen.h>

#include <tuple>

namespace fusedops {

// (grad_input, grad_weight, grad_bias) of a convolution; an entry not asked for is undefined.
using ConvGrads = std::tuple<at::Tensor, at::Tensor, at::Tensor>;

}  // namespace fusedops
