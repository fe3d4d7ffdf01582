// Shared by the Autograd-key kernels of the backward operators.
#pragma once

#include <torch/csrc/autograd/functions/basic_ops.h>
#include <torch/csrc/autograd/functions/utils.h>
#include <torch/torch.h>

#include <string>

namespace fusedops {

// Backward operators are differentiable once. When a graph is being recorded through one (create_graph
// with an input that requires grad), its outputs get an Error node, so that differentiating again fails
// with this message instead of silently producing wrong gradients.
inline torch::autograd::variable_list refuse_double_backward(const std::string& op,
                                                             const torch::autograd::variable_list& inputs,
                                                             torch::autograd::variable_list outputs) {
  if (!at::GradMode::is_enabled()) return outputs;
  bool any_requires_grad = false;
  for (const at::Tensor& t : inputs) any_requires_grad |= t.defined() && t.requires_grad();
  if (!any_requires_grad) return outputs;
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
