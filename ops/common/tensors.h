// Small tensor helpers shared by the kernels' host code.
#pragma once

#include <ATen/ATen.h>

#include <optional>

namespace fusedops {

// The data of an optional argument (an undefined tensor when absent), nullptr when absent.
template <typename T>
const T* data_or_null(const at::Tensor& t) {
  return t.defined() ? t.const_data_ptr<T>() : nullptr;
}

// An optional argument, contiguous, as the kernels take it (an undefined tensor when absent).
inline at::Tensor contiguous_or_undefined(const std::optional<at::Tensor>& t) {
  return t.has_value() ? t->contiguous() : at::Tensor();
}

}  // namespace fusedops
