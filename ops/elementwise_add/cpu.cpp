// fusedops::add on the CPU: a parallel loop over the output, contiguous or strided/broadcast.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/functional.h>
#include <ATen/cpu/vec/vec.h>

#include "ops/elementwise_add/add.h"
#include "ops/elementwise_add/broadcast.h"

namespace fusedops {

at::Tensor add_cpu(const at::Tensor& a_in, const at::Tensor& b_in) {
  const AddOperands operands = prepare_add(a_in, b_in);
  const at::Tensor& a = operands.a;
  const at::Tensor& b = operands.b;
  at::Tensor out = at::empty(a.sizes(), a.options().memory_format(at::MemoryFormat::Contiguous));
  const int64_t n = out.numel();
  if (n == 0) return out;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, out.scalar_type(), "fusedops::add cpu", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const scalar_t* pa = a.const_data_ptr<scalar_t>();
    const scalar_t* pb = b.const_data_ptr<scalar_t>();
    scalar_t* po = out.mutable_data_ptr<scalar_t>();
    if (a.is_contiguous() && b.is_contiguous()) {
      using Vec = at::vec::Vectorized<scalar_t>;  // SIMD; half types add in float32 and round once
      at::parallel_for(0, n, at::internal::GRAIN_SIZE, [&](int64_t begin, int64_t end) {
        at::vec::map2([](Vec x, Vec y) { return x + y; }, po + begin, pa + begin, pb + begin, end - begin);
      });
      return;
    }
    const BroadcastOffsets offsets(a, b);
    at::parallel_for(0, n, at::internal::GRAIN_SIZE, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        int64_t ia, ib;
        offsets.offsets(i, ia, ib);
        po[i] = static_cast<opmath_t>(pa[ia]) + static_cast<opmath_t>(pb[ib]);
      }
    });
  });
  return out;
}

}  // namespace fusedops
