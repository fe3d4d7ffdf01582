// fusedops::group_norm (nn.GroupNorm on any (N, C, *) input) and the engine every GroupNorm-ending chain shares:
// GroupNorm of prelude(c), where the prelude is an elementwise, per-channel function applied on the fly (identity for
// group_norm; + bias, * scale, sigmoid for L2_21; GELU for L2_19), so a chain never writes the prelude's output to
// memory.
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <optional>
#include <tuple>

namespace fusedops {

enum class Prelude { kIdentity, kAddScaleSigmoid, kGelu, kGeluTanh };

// The prelude's per-channel parameters: (C,) tensors, contiguous, in the input's opmath dtype (float32 for half types);
// undefined where the prelude has none.
struct PreludeParams {
  at::Tensor bias, scale;
};

// Gradients of GroupNorm(prelude(c)); undefined where not asked for (or no parameter).
struct GroupNormGrads {
  at::Tensor input, weight, bias;          // d/dc, d/dgamma (C), d/dbeta (C)
  at::Tensor prelude_bias, prelude_scale;  // (C,), in the opmath dtype
};

struct GroupNormKernels {
  // out = GroupNorm(prelude(c)) with affine gamma/beta (undefined: 1/0); `out` may be `c` itself.
  void (*forward)(Prelude, const PreludeParams&, const at::Tensor& c, int64_t num_groups, const at::Tensor& gamma,
                  const at::Tensor& beta, double eps, at::Tensor& out);
  // The statistics are recomputed from c, so the forward saves none. Writes dc (unless undefined) and the per-(sample,
  // channel) partial sums: dgamma, dbeta (N, C) and the prelude's parameters (P, N, C).
  void (*backward)(Prelude, const PreludeParams&, const at::Tensor& grad_out, const at::Tensor& c, int64_t num_groups,
                   const at::Tensor& gamma, double eps, at::Tensor& dc, at::Tensor& dgamma, at::Tensor& dbeta,
                   at::Tensor& dparams);
};

// The gradients of GroupNorm(prelude(c)) through a device's kernels (contiguous, non-empty c).
GroupNormGrads group_norm_engine_backward(const GroupNormKernels& k, Prelude kind, const PreludeParams& params,
                                          const at::Tensor& grad_out, const at::Tensor& c, int64_t num_groups,
                                          const at::Tensor& gamma, double eps, bool need_input, bool need_weight,
                                          bool need_bias);
extern const GroupNormKernels group_norm_cpu_kernels;
extern const GroupNormKernels group_norm_cuda_kernels;

// Checks num_groups and the optional affine parameters against `channels` (dtype and device against `input`); `op`
// names the operator. check_group_norm adds the input's own checks.
void check_group_norm_params(const c10::SymInt& channels, int64_t num_groups, const std::optional<at::Tensor>& weight,
                             const std::optional<at::Tensor>& bias, const at::Tensor& input, const char* op);
void check_group_norm(const at::Tensor& input, int64_t num_groups, const std::optional<at::Tensor>& weight,
                      const std::optional<at::Tensor>& bias, const char* op);

at::Tensor group_norm_cpu(const at::Tensor& input, int64_t num_groups, const std::optional<at::Tensor>& weight,
                          const std::optional<at::Tensor>& bias, double eps);
at::Tensor group_norm_cuda(const at::Tensor& input, int64_t num_groups, const std::optional<at::Tensor>& weight,
                           const std::optional<at::Tensor>& bias, double eps);
at::Tensor group_norm_meta(const at::Tensor& input, int64_t num_groups, const std::optional<at::Tensor>& weight,
                           const std::optional<at::Tensor>& bias, double eps);
at::Tensor group_norm_autograd(const at::Tensor& input, int64_t num_groups, const std::optional<at::Tensor>& weight,
                               const std::optional<at::Tensor>& bias, double eps);

using GroupNormBackwardResult = std::tuple<at::Tensor, at::Tensor, at::Tensor>;
#define FUSEDOPS_GROUP_NORM_BACKWARD_ARGS                                                                             \
  const at::Tensor &grad_output, const at::Tensor &input, int64_t num_groups, const std::optional<at::Tensor>&weight, \
      double eps, std::array<bool, 3> output_mask
GroupNormBackwardResult group_norm_backward_cpu(FUSEDOPS_GROUP_NORM_BACKWARD_ARGS);
GroupNormBackwardResult group_norm_backward_cuda(FUSEDOPS_GROUP_NORM_BACKWARD_ARGS);
GroupNormBackwardResult group_norm_backward_meta(FUSEDOPS_GROUP_NORM_BACKWARD_ARGS);
GroupNormBackwardResult group_norm_backward_autograd(FUSEDOPS_GROUP_NORM_BACKWARD_ARGS);

// The device-generic bodies of the operators' CPU and CUDA kernels.
at::Tensor group_norm_with(const GroupNormKernels& k, const at::Tensor& input, int64_t num_groups,
                           const std::optional<at::Tensor>& weight, const std::optional<at::Tensor>& bias, double eps);
GroupNormBackwardResult group_norm_backward_with(const GroupNormKernels& k, FUSEDOPS_GROUP_NORM_BACKWARD_ARGS);

}  // namespace fusedops
