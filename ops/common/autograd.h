// Shared by the Autograd-key kernels.
#pragma once

#include <torch/csrc/autograd/functions/basic_ops.h>
#include <torch/csrc/autograd/functions/utils.h>
#include <torch/torch.h>

#include <initializer_list>
#include <optional>
#include <string>

namespace fusedops {

// Whether autograd must record a call: grad mode on and any given tensor requiring grad. Where it need not, the
// Autograd-key kernels call the operator directly: a C++ autograd Function costs microseconds per call even when it
// records nothing, which small (launch-bound) calls feel.
inline bool any_requires_grad(std::initializer_list<std::optional<at::Tensor>> tensors) {
  if (!at::GradMode::is_enabled()) return false;
  for (const auto& t : tensors) {
    if (t.has_value() && t->defined() && t->requires_grad()) return true;
  }
  return false;
}

// A saved tensor back to the optional argument it was (saved as undefined when absent).
inline std::optional<at::Tensor> optional_of(const at::Tensor& t) {
  return t.defined() ? std::optional(t) : std::nullopt;
}

// Backward operators are differentiable once. When a graph is being recorded through one (create_graph
// with an input that requires grad), its outputs get an Error node, so that differentiating again fails
// with this message instead of silently producing wrong gradients.
inline torch::autograd::variable_list refuse_double_backward(const std::string& op,
                                                             const torch::autograd::variable_list& inputs,
                                                             torch::autograd::variable_list outputs) {
  if (!at::GradMode::is_enabled()) return outputs;
  bool recorded = false;
  for (const at::Tensor& t : inputs) recorded |= t.defined() && t.requires_grad();
  if (!recorded) return outputs;
  // The Error node links the outputs to the inputs' graph, so the engine reaches it and raises.
  auto error = std::make_shared<torch::autograd::Error>(
      op + ": double backward is not supported (the backward operator is not differentiable)",
      torch::autograd::collect_next_edges(at::ArrayRef<at::Tensor>(inputs)));
  for (at::Tensor& out : outputs) {
    if (out.defined()) torch::autograd::set_history(out, error);
  }
  return outputs;
}

}  // namespace fusedops
