"""Shared fixtures: devices, a fresh-but-reproducible seed, and checks against float64 references."""
import os
import random
import zlib

import pytest
import torch

import fusedops  # loads the library before any test

# Fresh random inputs on every run; the seed is printed so that a failure can be replayed.
SEED = int(os.environ.get("FUSEDOPS_TEST_SEED", random.SystemRandom().randrange(2**31)))
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
# The dtypes each device runs (half types accumulate in float32 on both).
FLOAT_DTYPES = [torch.float64, torch.float32, torch.float16, torch.bfloat16]


def pytest_report_header(config):
    return f"fusedops: seed {SEED} (FUSEDOPS_TEST_SEED={SEED} repeats this run), devices {DEVICES}"


@pytest.fixture(autouse=True)
def seed(request):
    """Seeds torch and returns a random.Random, both derived from the run's seed and the test's id."""
    test_seed = (SEED + zlib.crc32(request.node.nodeid.encode())) % 2**31
    torch.manual_seed(test_seed)
    return random.Random(test_seed)


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def rel_l2(out, ref):
    out, ref = out.double().cpu(), ref.double().cpu()
    return ((out - ref).norm() / ref.norm().clamp_min(1e-30)).item()


def assert_matches_reference(out, ref64, tol):
    """out (any dtype) against a float64 reference: same shape, every element finite, relative L2 <= tol."""
    assert out.shape == ref64.shape, (out.shape, ref64.shape)
    assert torch.isfinite(out).all(), "non-finite values: an element was not written or overflowed"
    err = rel_l2(out, ref64)
    assert err <= tol, f"relative L2 error {err:.3e} > {tol:.1e}"


def poison_cuda_allocator(nbytes):
    """Leaves NaN in the CUDA caching allocator's free blocks, so an output the kernel fails to write
    shows up as NaN instead of a stale or zero value."""
    if torch.cuda.is_available() and nbytes > 0:
        torch.full((nbytes // 4 + 1024,), float("nan"), device="cuda")  # freed at once, stays cached


def cuda_kernels_launched(fn):
    """The names of the CUDA kernels that fn() launches; None where the profiler sees none at all (under
    compute-sanitizer, which holds the profiling interface)."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    names = {e.key for e in prof.key_averages() if e.device_type == torch.autograd.DeviceType.CUDA}
    return names or None


def hopper_wgmma_build():
    """Whether this GPU is compute capability 9.0 and the library has sm_90a code (the wgmma kernels)."""
    return (torch.cuda.is_available() and torch.cuda.get_device_capability() == (9, 0)
            and "9.0a" in fusedops.build_info().get("cuda_archs", "").split(";"))


# Relative L2 tolerance for each compute precision against a float64 reference.
def tolerance(dtype, device, tf32=None):
    if dtype == torch.float64:
        return 1e-12
    if dtype == torch.float32:
        if device == "cuda" and (torch.backends.cudnn.allow_tf32 if tf32 is None else tf32):
            return 2e-3  # TF32 tensor cores: 10-bit mantissa products, float32 accumulation
        return 2e-5
    return 8e-3 if dtype == torch.bfloat16 else 2e-3
