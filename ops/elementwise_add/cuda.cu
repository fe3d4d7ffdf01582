// fusedops::add on CUDA: 16-byte vectorized, unrolled loads for the contiguous case, an int64
// grid-stride strided/broadcast loop otherwise. Runs on the current stream of the operands' device.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include "ops/common/cuda_launch.cuh"
#include "ops/elementwise_add/add.h"
#include "ops/elementwise_add/broadcast.h"

namespace fusedops {
namespace {

constexpr int kThreads = 256;

template <typename scalar_t, int kVec>
struct alignas(sizeof(scalar_t) * kVec) Pack {
  scalar_t v[kVec];
};

// Each thread adds kUnroll packs of kVec elements (16 bytes when the pointers allow it), all loads
// issued before the first store so that enough bytes are in flight to saturate HBM. The block's packs
// are contiguous at every unroll step, so each step is one coalesced sweep. The tail (n % kVec) goes
// to the first threads. One block per kThreads * kUnroll packs rather than a grid-stride loop: on the
// H100 the grid-stride variants ran 5% slower (bench/NOTES.md); gridDim.x still covers 2^43 elements.
template <typename scalar_t, int kVec, int kUnroll>
__global__ void __launch_bounds__(kThreads) add_contiguous_kernel(const scalar_t* __restrict__ a,
                                                                  const scalar_t* __restrict__ b,
                                                                  scalar_t* __restrict__ out, int64_t n) {
  using opmath_t = at::opmath_type<scalar_t>;
  using P = Pack<scalar_t, kVec>;
  const int64_t packs = n / kVec;
  const int64_t first = int64_t{blockIdx.x} * kThreads * kUnroll + threadIdx.x;
  P x[kUnroll], y[kUnroll];
#pragma unroll
  for (int u = 0; u < kUnroll; ++u) {
    const int64_t p = first + u * kThreads;
    if (p < packs) {
      x[u] = reinterpret_cast<const P*>(a)[p];
      y[u] = reinterpret_cast<const P*>(b)[p];
    }
  }
#pragma unroll
  for (int u = 0; u < kUnroll; ++u) {
    const int64_t p = first + u * kThreads;
    if (p < packs) {
      P z;
#pragma unroll
      for (int i = 0; i < kVec; ++i) z.v[i] = static_cast<opmath_t>(x[u].v[i]) + static_cast<opmath_t>(y[u].v[i]);
      reinterpret_cast<P*>(out)[p] = z;
    }
  }
  const int64_t tail = packs * kVec + first;
  if (tail < n && first < kVec) out[tail] = static_cast<opmath_t>(a[tail]) + static_cast<opmath_t>(b[tail]);
}

template <typename scalar_t>
__global__ void add_strided_kernel(const scalar_t* __restrict__ a, const scalar_t* __restrict__ b,
                                   scalar_t* __restrict__ out, int64_t n, const BroadcastOffsets offsets) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t stride = int64_t{gridDim.x} * blockDim.x;
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < n; i += stride) {
    int64_t ia, ib;
    offsets.offsets(i, ia, ib);
    out[i] = static_cast<opmath_t>(a[ia]) + static_cast<opmath_t>(b[ib]);
  }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

at::Tensor add_cuda(const at::Tensor& a_in, const at::Tensor& b_in) {
  const AddOperands operands = prepare_add(a_in, b_in);
  const at::Tensor& a = operands.a;
  const at::Tensor& b = operands.b;
  const c10::cuda::CUDAGuard guard(a.device());
  at::Tensor out = at::empty(a.sizes(), a.options().memory_format(at::MemoryFormat::Contiguous));
  const int64_t n = out.numel();
  if (n == 0) return out;
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, out.scalar_type(), "fusedops::add cuda", [&] {
    const scalar_t* pa = a.const_data_ptr<scalar_t>();
    const scalar_t* pb = b.const_data_ptr<scalar_t>();
    scalar_t* po = out.mutable_data_ptr<scalar_t>();
    if (a.is_contiguous() && b.is_contiguous()) {
      constexpr int kVec = 16 / sizeof(scalar_t);
      constexpr int kUnroll = 4;
      const auto blocks = [](int64_t items) {
        return static_cast<unsigned>((items + kThreads * kUnroll - 1) / (kThreads * kUnroll));
      };
      if (aligned16(pa) && aligned16(pb) && aligned16(po)) {
        add_contiguous_kernel<scalar_t, kVec, kUnroll><<<std::max(1u, blocks(n / kVec)), kThreads, 0, stream>>>(pa, pb, po, n);
      } else {
        add_contiguous_kernel<scalar_t, 1, kUnroll><<<blocks(n), kThreads, 0, stream>>>(pa, pb, po, n);
      }
    } else {
      add_strided_kernel<scalar_t>
          <<<grid_stride_blocks(n, kThreads, 8), kThreads, 0, stream>>>(pa, pb, po, n, BroadcastOffsets(a, b));
    }
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

}  // namespace fusedops
