// The public contract: every fusedops operator's schema. Kernels are wired per dispatch key in
// registration/; the C++ API in include/fusedops/fusedops.h calls these by name.
#include <torch/library.h>

TORCH_LIBRARY(fusedops, m) {
  m.def("add(Tensor a, Tensor b) -> Tensor");
  m.def(
      "add_backward(Tensor grad_output, SymInt[] a_size, ScalarType a_dtype, SymInt[] b_size, "
      "ScalarType b_dtype) -> (Tensor, Tensor)");

  m.def(
      "conv_transpose1d(Tensor input, Tensor weight, Tensor? bias, int stride=1, int padding=0, "
      "int output_padding=0, int groups=1, int dilation=1) -> Tensor");
  m.def(
      "conv_transpose1d_backward(Tensor grad_output, Tensor input, Tensor weight, int stride, int padding, "
      "int output_padding, int groups, int dilation, bool[3] output_mask) -> (Tensor, Tensor, Tensor)");
}
