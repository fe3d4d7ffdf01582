// Shared by the C++ tests: devices, random inputs, comparison against float64 references, error checks.
#pragma once

#include <ATen/core/dispatch/Dispatcher.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <tuple>
#include <vector>

namespace fusedops_test {

// Every parameterized suite runs on both; the CUDA cases skip themselves where they cannot run.
inline const std::vector<c10::DeviceType> kDevices = {c10::kCPU, c10::kCUDA};

// Why tests cannot run on `device` here ("" when they can). A build without CUDA kernels can run on a
// machine with a GPU, so the dispatcher is asked too (all operators are registered together).
inline std::string unavailable(c10::DeviceType device) {
  if (device != c10::kCUDA) return "";
  if (!torch::cuda::is_available()) return "no CUDA device";
  const auto op = c10::Dispatcher::singleton().findOp({"fusedops::add", ""});
  if (!op || !op->hasKernelForDispatchKey(c10::DispatchKey::CUDA)) return "fusedops has no CUDA kernels";
  return "";
}

// Float32 convolutions on CUDA may run in TF32 (PyTorch's default, which fusedops follows), beyond float32
// tolerances: while a test holds one of these, float32 means IEEE float32.
class NoTF32 {
 public:
  NoTF32() : saved_(at::globalContext().allowTF32CuDNN()) { at::globalContext().setAllowTF32CuDNN(false); }
  ~NoTF32() { at::globalContext().setAllowTF32CuDNN(saved_); }
  NoTF32(const NoTF32&) = delete;
  NoTF32& operator=(const NoTF32&) = delete;

 private:
  bool saved_;
};

// Base of the parameterized suites, whose parameter is a tuple that starts with the device.
template <typename Param>
class DeviceTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    if (const std::string why = unavailable(device()); !why.empty()) GTEST_SKIP() << why;
    torch::manual_seed(0);
  }
  c10::DeviceType device() const { return std::get<0>(this->GetParam()); }

 private:
  NoTF32 no_tf32_;
};

// Normal random values, drawn in float64 on the CPU so that every device and dtype gets the same data.
inline at::Tensor randn(at::IntArrayRef shape, at::ScalarType dtype, c10::DeviceType device,
                        bool requires_grad = false) {
  return torch::randn(shape, torch::kDouble).to(device, dtype).requires_grad_(requires_grad);
}

// A float64 CPU copy, outside any autograd graph, that requires grad when asked (for reference graphs).
inline at::Tensor f64_leaf(const at::Tensor& t, bool requires_grad = false) {
  return t.detach().to(torch::kCPU, torch::kDouble).requires_grad_(requires_grad);
}

// Relative L2 error allowed to results computed in `dtype` against a float64 reference, as in python_tests.
// Norm-wise, so that outputs near zero after cancellation are not held to a bound they cannot meet.
inline double tolerance(at::ScalarType dtype) {
  switch (dtype) {
    case at::kDouble: return 1e-12;
    case at::kFloat: return 2e-5;
    case at::kBFloat16: return 8e-3;
    default: return 2e-3;  // float16
  }
}

// `actual` (any dtype and device) has `expected`'s shape, finite values and a relative L2 error within the
// tolerance of `dtype`.
inline ::testing::AssertionResult matches_reference(const at::Tensor& actual, const at::Tensor& expected,
                                                    at::ScalarType dtype) {
  if (actual.sizes() != expected.sizes()) {
    return ::testing::AssertionFailure() << "shape " << actual.sizes() << ", expected " << expected.sizes();
  }
  const at::Tensor a = actual.detach().to(torch::kCPU, torch::kDouble);
  const at::Tensor e = expected.detach().to(torch::kCPU, torch::kDouble);
  if (!a.isfinite().all().item<bool>()) return ::testing::AssertionFailure() << "non-finite values";
  const double rel_l2 = ((a - e).norm() / e.norm().clamp_min(1e-30)).item<double>();
  if (rel_l2 <= tolerance(dtype)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "relative L2 error " << rel_l2 << " > " << tolerance(dtype)
                                       << " (max abs error " << (a - e).abs().max().item<double>() << ") in shape "
                                       << actual.sizes();
}

// `fn` throws a c10::Error whose message contains every one of `needles`.
template <typename Fn>
::testing::AssertionResult throws_error(Fn&& fn, std::initializer_list<std::string> needles) {
  try {
    fn();
  } catch (const c10::Error& e) {
    const std::string message = e.what_without_backtrace();
    for (const std::string& needle : needles) {
      if (message.find(needle) == std::string::npos) {
        return ::testing::AssertionFailure() << "the error does not mention '" << needle << "': " << message;
      }
    }
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no c10::Error was thrown";
}

// Test names from the parameter tuple: each element through name_of (found by ADL for test-local types).
inline std::string name_of(c10::DeviceType device) { return c10::DeviceTypeName(device); }
inline std::string name_of(at::ScalarType dtype) { return c10::toString(dtype); }

template <typename Tuple>
std::string param_name(const ::testing::TestParamInfo<Tuple>& info) {
  return std::apply(
      [](const auto&... parts) {
        std::string name;
        ((name += (name.empty() ? "" : "_") + name_of(parts)), ...);
        return name;
      },
      info.param);
}

}  // namespace fusedops_test
