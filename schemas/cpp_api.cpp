// include/fusedops/fusedops.h: typed calls into the dispatcher, one per schema in fusedops.cpp.
#include "fusedops/fusedops.h"

#include <ATen/core/dispatch/Dispatcher.h>

namespace fusedops {
namespace {

template <typename Signature>
c10::TypedOperatorHandle<Signature> find_op(const char* name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, "").typed<Signature>();
}

}  // namespace

const char* torch_version() { return FUSEDOPS_TORCH_VERSION; }

at::Tensor add(const at::Tensor& a, const at::Tensor& b) {
  static const auto op = find_op<at::Tensor(const at::Tensor&, const at::Tensor&)>("fusedops::add");
  return op.call(a, b);
}

std::tuple<at::Tensor, at::Tensor> add_backward(const at::Tensor& grad_output, c10::SymIntArrayRef a_size,
                                                at::ScalarType a_dtype, c10::SymIntArrayRef b_size,
                                                at::ScalarType b_dtype) {
  static const auto op = find_op<std::tuple<at::Tensor, at::Tensor>(
      const at::Tensor&, c10::SymIntArrayRef, at::ScalarType, c10::SymIntArrayRef, at::ScalarType)>(
      "fusedops::add_backward");
  return op.call(grad_output, a_size, a_dtype, b_size, b_dtype);
}

at::Tensor conv_transpose1d(const at::Tensor& input, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                            int64_t stride, int64_t padding, int64_t output_padding, int64_t groups,
                            int64_t dilation) {
  static const auto op = find_op<at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&,
                                            int64_t, int64_t, int64_t, int64_t, int64_t)>("fusedops::conv_transpose1d");
  return op.call(input, weight, bias, stride, padding, output_padding, groups, dilation);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> conv_transpose1d_backward(
    const at::Tensor& grad_output, const at::Tensor& input, const at::Tensor& weight, int64_t stride, int64_t padding,
    int64_t output_padding, int64_t groups, int64_t dilation, std::array<bool, 3> output_mask) {
  static const auto op =
      find_op<std::tuple<at::Tensor, at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                                             int64_t, int64_t, int64_t, int64_t, int64_t,
                                                             std::array<bool, 3>)>("fusedops::conv_transpose1d_backward");
  return op.call(grad_output, input, weight, stride, padding, output_padding, groups, dilation, output_mask);
}

}  // namespace fusedops
