"""The measurements of one problem: identical models, correctness, timing, peak memory."""
import copy
import math
import statistics
import time

import torch

import fusedops.models

SEED = 0
TRIALS = 5
FLUSH_BYTES = 256 << 20  # larger than any current GPU's L2 (H100: 50 MB)


def build_models(module, init_args, device):
    """Model and ModelNew built under the same seed; their state_dicts must be identical."""
    model, model_new = fusedops.models.build_models(module, init_args, SEED)
    ref, new = model.state_dict(), model_new.state_dict()
    assert ref.keys() == new.keys() and all(torch.equal(ref[k], new[k]) for k in ref), (
        "Model and ModelNew built under the same seed have different state_dicts")
    return model.to(device), model_new.to(device)


def _worst(values):
    return max(values, key=lambda v: math.inf if math.isnan(v) else v)


def check_correctness(model, model_new, make_inputs, tol):
    """TRIALS fresh inputs: ModelNew must match Model within rtol = atol = tol on every one.

    max_abs_err is against Model (what the tolerance judges); rel_l2_err, and eager_rel_l2_err for
    comparison, are against Model run in float64. Each is the worst over the trials.
    """
    model64 = copy.deepcopy(model).double()
    correct, abs_errs, rel_errs, eager_rel_errs = True, [], [], []
    for _ in range(TRIALS):
        inputs = make_inputs()
        out, ref = model_new(*inputs), model(*inputs)
        if out.shape != ref.shape or out.dtype != ref.dtype:
            raise AssertionError(f"ModelNew returned {out.dtype} {tuple(out.shape)}, "
                                 f"Model {ref.dtype} {tuple(ref.shape)}")
        ref64 = model64(*(x.double() for x in inputs))
        norm64 = torch.linalg.vector_norm(ref64)
        correct &= torch.allclose(out, ref, rtol=tol, atol=tol)  # NaN never passes (equal_nan=False)
        abs_errs.append((out - ref).abs().max().item())
        rel_errs.append((torch.linalg.vector_norm(out.double() - ref64) / norm64).item())
        eager_rel_errs.append((torch.linalg.vector_norm(ref.double() - ref64) / norm64).item())
        del out, ref, ref64
    return {
        "correct": bool(correct),
        "max_abs_err": _worst(abs_errs),
        "rel_l2_err": _worst(rel_errs),
        "eager_rel_l2_err": _worst(eager_rel_errs),
    }


class Timer:
    """Median and mean milliseconds of `iters` calls after `warmup` calls.

    CUDA: CUDA events around each call, with L2 flushed (a buffer larger than L2 zeroed) before each,
    outside the timed region, so every call reads its inputs from HBM. CPU: time.perf_counter.
    """

    def __init__(self, device, iters, warmup):
        self.device, self.iters, self.warmup = device, iters, warmup
        if device.type == "cuda":
            l2_bytes = torch.cuda.get_device_properties(device).L2_cache_size
            self.flush = torch.empty(max(FLUSH_BYTES, 4 * l2_bytes), dtype=torch.uint8, device=device)

    def __call__(self, fn, inputs):
        for _ in range(self.warmup):
            fn(*inputs)
        times = self._cuda(fn, inputs) if self.device.type == "cuda" else self._cpu(fn, inputs)
        return statistics.median(times), statistics.fmean(times)

    def _cuda(self, fn, inputs):
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                  for _ in range(self.iters)]
        torch.cuda.synchronize(self.device)
        for start, end in events:
            self.flush.zero_()
            start.record()
            fn(*inputs)
            end.record()
        torch.cuda.synchronize(self.device)
        return [start.elapsed_time(end) for start, end in events]

    def _cpu(self, fn, inputs):
        times = []
        for _ in range(self.iters):
            begin = time.perf_counter()
            fn(*inputs)
            times.append((time.perf_counter() - begin) * 1e3)
        return times


def training_step(model, grad_out):
    """One training step of model as a function of its inputs: zero_grad, forward, backward from grad_out."""
    def step(*inputs):
        model.zero_grad(set_to_none=True)
        model(*inputs).backward(grad_out)
    return step


def training_steps(model, model_new, inputs):
    """Training-step closures (forward, then backward from a fixed random output gradient) of Model and ModelNew,
    and the relative L2 errors of ModelNew's and of eager Model's parameter gradients against Model run in float64,
    each the worst parameter. Parameters whose float64 gradient is below 1e-9 of the largest one's are left out: their
    exact gradient is zero (a bias that BatchNorm's batch mean cancels), so no relative error is defined.

    Grad mode is switched on here; the caller keeps it on while timing (the harness runs under no_grad).
    """
    with torch.no_grad():
        grad_out = torch.randn_like(model(*inputs))

    steps = training_step(model, grad_out), training_step(model_new, grad_out)
    model64 = copy.deepcopy(model).double()
    with torch.enable_grad():
        for step in steps:
            step(*inputs)
        training_step(model64, grad_out.double())(*(x.double() for x in inputs))

    norms64 = [torch.linalg.vector_norm(p64.grad).item() for p64 in model64.parameters()]

    def worst_error(m):
        return _worst([torch.linalg.vector_norm(p.grad.double() - p64.grad).item() / norm
                       for p, p64, norm in zip(m.parameters(), model64.parameters(), norms64)
                       if norm > 1e-9 * max(norms64)])

    errors = worst_error(model_new), worst_error(model)
    del model64
    return steps, errors


def peak_memory_mb(fn, inputs, device):
    """MB (2**20 bytes) allocated at the peak of one call beyond what was held before it; None off CUDA."""
    if device.type != "cuda":
        return None
    torch.cuda.synchronize(device)
    held = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    out = fn(*inputs)
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) - held
    del out
    return peak / 2**20


def compile_model(model, mode, inputs, device):
    """torch.compile(model, mode), compiled by a first call; returns it and the seconds compiling took."""
    torch._dynamo.reset()  # a fresh cache, so this mode compiles its own graph
    compiled = torch.compile(model, mode=mode)
    begin = time.perf_counter()
    compiled(*inputs)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return compiled, time.perf_counter() - begin
