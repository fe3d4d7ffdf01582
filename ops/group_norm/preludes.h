// The elementwise, per-channel functions the GroupNorm engine applies before normalizing (group_norm.h). Each has
// forward(a = f(c)) and backward (dL/dc from dL/da, adding dL/dparam into grads[]); shared by the CPU and CUDA engines.
// T is the compute type (float32 for half types).
#pragma once

#include <c10/macros/Macros.h>

#include <cmath>

#include "ops/group_norm/group_norm.h"

namespace fusedops {

template <typename T>
struct IdentityPrelude {
  static constexpr int kParams = 0;
  struct Channel {};
  C10_HOST_DEVICE Channel channel(int64_t) const { return {}; }
  C10_HOST_DEVICE T forward(const Channel&, T c) const { return c; }
  C10_HOST_DEVICE T backward(const Channel&, T, T da, T*) const { return da; }
};

// a = sigmoid((c + bias[ch]) * scale[ch]); params: bias, scale.
template <typename T>
struct AddScaleSigmoidPrelude {
  static constexpr int kParams = 2;
  const T* bias;
  const T* scale;
  struct Channel {
    T bias, scale;
  };
  C10_HOST_DEVICE Channel channel(int64_t ch) const { return {bias[ch], scale[ch]}; }
  C10_HOST_DEVICE T forward(const Channel& p, T c) const { return T(1) / (T(1) + std::exp(-(c + p.bias) * p.scale)); }
  C10_HOST_DEVICE T backward(const Channel& p, T c, T da, T* grads) const {
    const T s = forward(p, c);
    const T du = da * s * (T(1) - s);
    grads[0] += du * p.scale;
    grads[1] += du * (c + p.bias);
    return du * p.scale;
  }
};

// GELU: exact, 0.5 c (1 + erf(c / sqrt 2)), or the tanh approximation.
template <typename T, bool kTanh>
struct GeluPrelude {
  static constexpr int kParams = 0;
  struct Channel {};
  C10_HOST_DEVICE Channel channel(int64_t) const { return {}; }
  static constexpr T kSqrt1_2 = T(0.70710678118654752440);
  static constexpr T kSqrt2OverPi = T(0.79788456080286535588);
  static constexpr T kCubic = T(0.044715);
  C10_HOST_DEVICE T forward(const Channel&, T c) const {
    if constexpr (kTanh) {
      return T(0.5) * c * (T(1) + std::tanh(kSqrt2OverPi * (c + kCubic * c * c * c)));
    } else {
      return T(0.5) * c * (T(1) + std::erf(c * kSqrt1_2));
    }
  }
  C10_HOST_DEVICE T backward(const Channel&, T c, T da, T*) const {
    if constexpr (kTanh) {
      const T inner = kSqrt2OverPi * (c + kCubic * c * c * c);
      const T t = std::tanh(inner);
      const T dinner = kSqrt2OverPi * (T(1) + T(3) * kCubic * c * c);
      return da * (T(0.5) * (T(1) + t) + T(0.5) * c * (T(1) - t * t) * dinner);
    } else {
      constexpr T kInvSqrt2Pi = T(0.39894228040143267794);  // 1 / sqrt(2 pi)
      return da * (T(0.5) * (T(1) + std::erf(c * kSqrt1_2)) + c * kInvSqrt2Pi * std::exp(T(-0.5) * c * c));
    }
  }
};

// Calls fn(prelude) with the prelude object of `kind` (host code: picks the kernel instantiation).
template <typename T, typename Fn>
void with_prelude(Prelude kind, const PreludeParams& params, Fn&& fn) {
  switch (kind) {
    case Prelude::kIdentity:
      return fn(IdentityPrelude<T>{});
    case Prelude::kAddScaleSigmoid:
      return fn(AddScaleSigmoidPrelude<T>{params.bias.const_data_ptr<T>(), params.scale.const_data_ptr<T>()});
    case Prelude::kGelu:
      return fn(GeluPrelude<T, false>{});
    case Prelude::kGeluTanh:
      return fn(GeluPrelude<T, true>{});
  }
}

}  // namespace fusedops
