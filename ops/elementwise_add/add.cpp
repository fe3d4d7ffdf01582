// fusedops::add: argument checks, shape and dtype rules, the meta kernel and the backward.
#include "ops/elementwise_add/add.h"

#include <ATen/ExpandUtils.h>

#include "ops/common/checks.h"

namespace fusedops {
namespace {

constexpr const char* kOp = "fusedops::add";

at::ScalarType checked_result_type(const at::Tensor& a, const at::Tensor& b) {
  check_float(a, kOp, "a");
  check_float(b, kOp, "b");
  check_same_device(b, "b", a, "a", kOp);
  return at::result_type(a, b);
}

}  // namespace

AddOperands prepare_add(const at::Tensor& a, const at::Tensor& b) {
  const at::ScalarType dtype = checked_result_type(a, b);
  const auto shape = at::infer_size_dimvector(a.sizes(), b.sizes());
  return {a.to(dtype).expand(shape), b.to(dtype).expand(shape)};
}

at::Tensor add_meta(const at::Tensor& a, const at::Tensor& b) {
  const at::ScalarType dtype = checked_result_type(a, b);
  return at::empty_symint(at::infer_size_symdimvector(a.sym_sizes(), b.sym_sizes()), a.options().dtype(dtype));
}

std::tuple<at::Tensor, at::Tensor> add_backward_kernel(const at::Tensor& grad_output, c10::SymIntArrayRef a_size,
                                                at::ScalarType a_dtype, c10::SymIntArrayRef b_size,
                                                at::ScalarType b_dtype) {
  auto grad_of = [&](c10::SymIntArrayRef size, at::ScalarType dtype) {
    at::Tensor grad = at::sum_to(grad_output, size);
    if (grad.scalar_type() != dtype) return grad.to(dtype);
    // The operator's outputs must never alias its input.
    return grad.is_alias_of(grad_output) ? grad.clone() : grad;
  };
  return {grad_of(a_size, a_dtype), grad_of(b_size, b_dtype)};
}

}  // namespace fusedops
