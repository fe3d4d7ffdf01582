// fusedops::add — elementwise a + b with PyTorch's broadcasting and type promotion.
#pragma once

#include <ATen/ATen.h>

#include <tuple>

namespace fusedops {

// Both operands cast to the promoted dtype (at::result_type) and expanded to the broadcast shape.
struct AddOperands {
  at::Tensor a;
  at::Tensor b;
};
AddOperands prepare_add(const at::Tensor& a, const at::Tensor& b);

at::Tensor add_cpu(const at::Tensor& a, const at::Tensor& b);
at::Tensor add_cuda(const at::Tensor& a, const at::Tensor& b);
at::Tensor add_meta(const at::Tensor& a, const at::Tensor& b);
at::Tensor add_autograd(const at::Tensor& a, const at::Tensor& b);

// Gradient of each operand: grad_output summed over the dimensions it was broadcast along, cast back
// to the operand's dtype. One device-generic implementation serves CPU, CUDA and Meta.
std::tuple<at::Tensor, at::Tensor> add_backward_kernel(const at::Tensor& grad_output, c10::SymIntArrayRef a_size,
                                                at::ScalarType a_dtype, c10::SymIntArrayRef b_size,
                                                at::ScalarType b_dtype);
std::tuple<at::Tensor, at::Tensor> add_backward_autograd(const at::Tensor& grad_output, c10::SymIntArrayRef a_size,
                                                         at::ScalarType a_dtype, c10::SymIntArrayRef b_size,
                                                         at::ScalarType b_dtype);

}  // namespace fusedops
