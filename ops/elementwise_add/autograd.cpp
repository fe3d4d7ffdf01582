// fusedops::add at the Autograd key: a C++ autograd Function whose backward is fusedops::add_backward,
// so C++ programs get gradients with no Python.
#include "fusedops/fusedops.h"
#include "ops/common/autograd.h"
#include "ops/elementwise_add/add.h"

namespace fusedops {
namespace {

class AddFunction : public torch::autograd::Function<AddFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& a, const at::Tensor& b) {
    // Only the operands' shapes and dtypes are needed: the gradient does not depend on their values.
    ctx->saved_data["a_size"] = a.sym_sizes();
    ctx->saved_data["a_dtype"] = a.scalar_type();
    ctx->saved_data["b_size"] = b.sym_sizes();
    ctx->saved_data["b_dtype"] = b.scalar_type();
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return fusedops::add(a, b);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto [grad_a, grad_b] = fusedops::add_backward(
        grads[0], ctx->saved_data["a_size"].toSymIntVector(), ctx->saved_data["a_dtype"].toScalarType(),
        ctx->saved_data["b_size"].toSymIntVector(), ctx->saved_data["b_dtype"].toScalarType());
    return {grad_a, grad_b};
  }
};

}  // namespace

at::Tensor add_autograd(const at::Tensor& a, const at::Tensor& b) {
  if (any_requires_grad({a, b})) return AddFunction::apply(a, b);
  at::AutoDispatchBelowADInplaceOrView below_autograd;
  return fusedops::add(a, b);
}

std::tuple<at::Tensor, at::Tensor> add_backward_autograd(const at::Tensor& grad_output, c10::SymIntArrayRef a_size,
                                                         at::ScalarType a_dtype, c10::SymIntArrayRef b_size,
                                                         at::ScalarType b_dtype) {
  auto grads = [&] {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return fusedops::add_backward(grad_output, a_size, a_dtype, b_size, b_dtype);
  }();
  auto outs = refuse_double_backward("fusedops::add_backward", {grad_output}, {std::get<0>(grads), std::get<1>(grads)});
  return {outs[0], outs[1]};
}

}  // namespace fusedops
