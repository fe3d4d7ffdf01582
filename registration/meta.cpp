// Meta kernels: output shapes and dtypes only, symbolic sizes allowed. FakeTensor (torch.compile,
// torch.export, opcheck) uses these, so no fake implementation is written in Python.
#include <torch/library.h>

#include "ops/conv_transpose1d/conv_transpose1d.h"
#include "ops/elementwise_add/add.h"

TORCH_LIBRARY_IMPL(fusedops, Meta, m) {
  m.impl("add", &fusedops::add_meta);
  m.impl("add_backward", &fusedops::add_backward_kernel);  // the reduction's shape math runs on meta too
  m.impl("conv_transpose1d", &fusedops::conv_transpose1d_meta);
  m.impl("conv_transpose1d_backward", &fusedops::conv_transpose1d_backward_meta);
}
