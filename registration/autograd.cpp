// Autograd kernels: forward operators record a C++ autograd Function; backward operators refuse a
// second differentiation (ops/common/autograd.h).
#include <torch/library.h>

#include "ops/conv_transpose1d/conv_transpose1d.h"
#include "ops/elementwise_add/add.h"

TORCH_LIBRARY_IMPL(fusedops, Autograd, m) {
  m.impl("add", &fusedops::add_autograd);
  m.impl("add_backward", &fusedops::add_backward_autograd);
  m.impl("conv_transpose1d", &fusedops::conv_transpose1d_autograd);
  m.impl("conv_transpose1d_backward", &fusedops::conv_transpose1d_backward_autograd);
}
