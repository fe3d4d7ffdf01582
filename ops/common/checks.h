// Argument checks shared by every operator: each failure names the operator and the argument.
#pragma once

#include <ATen/ATen.h>

#include <string>

namespace fusedops {

// Numbers in error messages are formatted with std::to_string and reach the message stream as text.
// Inserting integers straight into c10::str's ostream crashed on one deployment image (torch 2.11 wheel,
// Python process): the locale-dependent integer insertion bound to another copy of libstdc++'s
// template. Text insertion is unaffected.
inline std::string text(int64_t v) { return std::to_string(v); }
inline std::string text(const c10::SymInt& v) {
  const auto concrete = v.maybe_as_int();
  return concrete ? std::to_string(*concrete) : v.toSymNodeImplUnowned()->str();
}
inline std::string text(c10::SymIntArrayRef sizes) {
  std::string out = "[";
  for (size_t i = 0; i < sizes.size(); ++i) out += (i ? ", " : "") + text(sizes[i]);
  return out + "]";
}

// The floating dtypes every fusedops kernel computes in (half types accumulate in float32).
inline bool is_supported_float(at::ScalarType t) {
  return t == at::kFloat || t == at::kDouble || t == at::kHalf || t == at::kBFloat16;
}

inline void check_float(const at::Tensor& t, const char* op, const char* name) {
  TORCH_CHECK(is_supported_float(t.scalar_type()), op, ": ", name,
              " must be float16, bfloat16, float32 or float64, got ", t.scalar_type());
}

inline void check_same_device(const at::Tensor& t, const char* name, const at::Tensor& ref, const char* ref_name,
                              const char* op) {
  TORCH_CHECK(t.device() == ref.device(), op, ": ", name, " is on ", t.device(), " but ", ref_name, " is on ",
              ref.device(), "; all tensors must be on the same device");
}

inline void check_same_dtype(const at::Tensor& t, const char* name, const at::Tensor& ref, const char* ref_name,
                             const char* op) {
  TORCH_CHECK(t.scalar_type() == ref.scalar_type(), op, ": ", name, " has dtype ", t.scalar_type(), " but ",
              ref_name, " has dtype ", ref.scalar_type(), "; they must match");
}

inline void check_dim(const at::Tensor& t, int64_t dim, const char* op, const char* name, const char* layout) {
  TORCH_CHECK(t.dim() == dim, op, ": ", name, " must be ", text(dim), "-D ", layout, ", got shape ",
              text(t.sym_sizes()));
}

}  // namespace fusedops
