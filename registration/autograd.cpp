// Autograd kernels: forward operators record a C++ autograd Function when a gradient is needed; backward operators
// refuse a second differentiation (ops/common/autograd.h).
#include <torch/library.h>

#include "ops/conv2d/conv2d.h"
#include "ops/conv_bn_pool_group_norm/conv_bn_pool_group_norm.h"
#include "ops/conv_group_norm/conv_group_norm.h"
#include "ops/conv_transpose1d/conv_transpose1d.h"
#include "ops/elementwise_add/add.h"
#include "ops/group_norm/group_norm.h"

TORCH_LIBRARY_IMPL(fusedops, Autograd, m) {
  m.impl("add", &fusedops::add_autograd);
  m.impl("add_backward", &fusedops::add_backward_autograd);
  m.impl("conv_transpose1d", &fusedops::conv_transpose1d_autograd);
  m.impl("conv_transpose1d_backward", &fusedops::conv_transpose1d_backward_autograd);
  m.impl("conv2d", &fusedops::conv2d_autograd);
  m.impl("conv2d_backward", &fusedops::conv2d_backward_autograd);
  m.impl("conv_transpose2d", &fusedops::conv_transpose2d_autograd);
  m.impl("conv_transpose2d_backward", &fusedops::conv_transpose2d_backward_autograd);
  m.impl("group_norm", &fusedops::group_norm_autograd);
  m.impl("group_norm_backward", &fusedops::group_norm_backward_autograd);
  m.impl("conv2d_add_scale_sigmoid_group_norm", &fusedops::conv2d_add_scale_sigmoid_group_norm_autograd);
  m.impl("conv2d_add_scale_sigmoid_group_norm_forward",
         &fusedops::conv2d_add_scale_sigmoid_group_norm_forward_autograd);
  m.impl("conv2d_add_scale_sigmoid_group_norm_backward",
         &fusedops::conv2d_add_scale_sigmoid_group_norm_backward_autograd);
  m.impl("conv_transpose2d_gelu_group_norm", &fusedops::conv_transpose2d_gelu_group_norm_autograd);
  m.impl("conv_transpose2d_gelu_group_norm_forward", &fusedops::conv_transpose2d_gelu_group_norm_forward_autograd);
  m.impl("conv_transpose2d_gelu_group_norm_backward", &fusedops::conv_transpose2d_gelu_group_norm_backward_autograd);
  m.impl("conv_transpose2d_batch_norm_tanh_max_pool_group_norm",
         &fusedops::conv_transpose2d_batch_norm_tanh_max_pool_group_norm_autograd);
  m.impl("conv_transpose2d_batch_norm_tanh_max_pool_group_norm_forward",
         &fusedops::conv_transpose2d_batch_norm_tanh_max_pool_group_norm_forward_autograd);
  m.impl("conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward",
         &fusedops::conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward_autograd);
}
