// fusedops' C++ API: each function calls the registered operator through the PyTorch dispatcher, so
// CPU/CUDA kernels and autograd are picked exactly as for torch.ops.fusedops.* in Python.
// Link fusedops::fusedops (find_package(fusedops)); the operators register when the library loads.
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <optional>
#include <tuple>

namespace fusedops {

// The torch version this library was built against (operators are tied to its ABI).
const char* torch_version();

// a + b with broadcasting and type promotion (float16, bfloat16, float32, float64).
at::Tensor add(const at::Tensor& a, const at::Tensor& b);
std::tuple<at::Tensor, at::Tensor> add_backward(const at::Tensor& grad_output, c10::SymIntArrayRef a_size,
                                                at::ScalarType a_dtype, c10::SymIntArrayRef b_size,
                                                at::ScalarType b_dtype);

// nn.ConvTranspose1d: input (N, C_in, L), weight (C_in, C_out / groups, K), bias (C_out) or none.
at::Tensor conv_transpose1d(const at::Tensor& input, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                            int64_t stride = 1, int64_t padding = 0, int64_t output_padding = 0, int64_t groups = 1,
                            int64_t dilation = 1);
// (grad_input, grad_weight, grad_bias); entries whose output_mask is false are undefined.
std::tuple<at::Tensor, at::Tensor, at::Tensor> conv_transpose1d_backward(
    const at::Tensor& grad_output, const at::Tensor& input, const at::Tensor& weight, int64_t stride, int64_t padding,
    int64_t output_padding, int64_t groups, int64_t dilation, std::array<bool, 3> output_mask);

}  // namespace fusedops
