// CUDA kernels of every fusedops operator (built when torch and nvcc have CUDA).
#include <torch/library.h>

#include "ops/conv_transpose1d/conv_transpose1d.h"
#include "ops/elementwise_add/add.h"

TORCH_LIBRARY_IMPL(fusedops, CUDA, m) {
  m.impl("add", &fusedops::add_cuda);
  m.impl("add_backward", &fusedops::add_backward_kernel);  // device-generic reduction
  m.impl("conv_transpose1d", &fusedops::conv_transpose1d_cuda);
  m.impl("conv_transpose1d_backward", &fusedops::conv_transpose1d_backward_cuda);
}
