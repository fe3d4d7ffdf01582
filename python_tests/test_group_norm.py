"""fusedops::group_norm against F.group_norm in float64, on random (N, C, *) inputs of rank 2 to 5, with the
affine weight and bias each optional: forward, backward op, autograd, layouts, bad input."""
import math

import pytest
import torch
import torch.nn.functional as F

from conftest import DEVICES, FLOAT_DTYPES, assert_matches_reference, poison_cuda_allocator, tolerance

op = torch.ops.fusedops.group_norm
backward_op = torch.ops.fusedops.group_norm_backward


def tol(dtype, device):
    """conftest's tolerance without the TF32 allowance: group_norm has no matrix products."""
    return tolerance(dtype, device, tf32=False)


def random_config(rng, batch=None, max_spatial=7):
    """A random, valid configuration; every group has at least 4 elements (a 1-element group normalizes to
    exactly 0, a 2-element one to +-1 with a ~0 input gradient; 3-element ones are still ill-conditioned)."""
    while True:
        num_groups = rng.choice([1, 1, 2, 3, 4])
        per_group = rng.choice([1, 1, 2, 3, 5])
        cfg = dict(
            batch=rng.choice([0, 1, 2, 3]) if batch is None else batch,
            channels=num_groups * per_group,
            num_groups=num_groups,
            spatial=[rng.randint(1, max_spatial) for _ in range(rng.randint(0, 3))],
            weight=rng.random() < 0.7,
            bias=rng.random() < 0.7,
            eps=rng.choice([1e-5, 1e-5, 1e-3, 0.1]),
        )
        group_size = per_group
        for s in cfg["spatial"]:
            group_size *= s
        if group_size >= 4:
            return cfg


def make_args(cfg, device, dtype, requires_grad=False):
    x = torch.randn(cfg["batch"], cfg["channels"], *cfg["spatial"], device=device, dtype=dtype)
    w = torch.randn(cfg["channels"], device=device, dtype=dtype) if cfg["weight"] else None
    b = torch.randn(cfg["channels"], device=device, dtype=dtype) if cfg["bias"] else None
    for t in (x, w, b):
        if t is not None:
            t.requires_grad_(requires_grad)
    return x, w, b


def call(x, w, b, cfg):
    return op(x, cfg["num_groups"], w, b, cfg["eps"])


def to64(t):
    return None if t is None else t.detach().double().cpu()


def gn64(x, num_groups, w, b, eps):
    """F.group_norm for the float64 references, with a unit weight where there is none but a bias: PyTorch's CPU
    backward fails ("tensor does not have a device") on a bias gradient without a weight."""
    if w is None and b is not None:
        w = torch.ones(x.shape[1], dtype=x.dtype, device=x.device)
    return F.group_norm(x, num_groups, w, b, eps)


def reference(x, w, b, cfg):
    return gn64(to64(x), cfg["num_groups"], to64(w), to64(b), cfg["eps"])


def reference_grads(x, w, cfg, grad_out):
    """float64 autograd w.r.t. (input, weight, bias): the weight gradient only if there is a weight; the bias
    gradient is taken at a zero bias (the backward op does not see the bias)."""
    x64 = to64(x).requires_grad_()
    w64 = None if w is None else to64(w).requires_grad_()
    b64 = torch.zeros(cfg["channels"], dtype=torch.float64, requires_grad=True)
    out = gn64(x64, cfg["num_groups"], w64, b64, cfg["eps"])
    inputs = [t for t in (x64, w64, b64) if t is not None]
    grads = list(torch.autograd.grad(out, inputs, to64(grad_out)))
    return grads[0], (grads[1] if w is not None else None), grads[-1]


def ids(c):
    return f"n{c['batch']}-c{c['channels']}-g{c['num_groups']}-{'x'.join(map(str, c['spatial'])) or 'none'}"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_forward_random_shapes(device, dtype, seed):
    """Random ranks 2-5, group counts from 1 to C, optional weight and bias, batch 0 included."""
    for _ in range(30):
        cfg = random_config(seed)
        x, w, b = make_args(cfg, device, dtype)
        if device == "cuda":
            poison_cuda_allocator(8 * x.numel() + 65536)
        out = call(x, w, b, cfg)
        assert out.dtype == dtype and out.device == x.device
        assert_matches_reference(out, reference(x, w, b, cfg), tol(dtype, device))


def test_num_groups_one_and_c(device):
    """num_groups = 1 (layer-norm-like) and num_groups = C (instance-norm-like) on the same input."""
    x = torch.randn(3, 6, 5, 4, device=device)
    w, b = torch.randn(6, device=device), torch.randn(6, device=device)
    for g in (1, 2, 3, 6):
        cfg = dict(num_groups=g, eps=1e-5)
        assert_matches_reference(op(x, g, w, b), reference(x, w, b, cfg), tol(torch.float32, device))
        assert_matches_reference(op(x, g), reference(x, None, None, cfg), tol(torch.float32, device))


# Larger groups: several blocks per group, many groups, sizes that are not a multiple of a vector width.
LARGE_CASES = [
    dict(batch=2, channels=64, num_groups=8, spatial=[32, 32], weight=True, bias=True, eps=1e-5),
    dict(batch=1, channels=4, num_groups=1, spatial=[129, 127], weight=True, bias=False, eps=1e-5),
    dict(batch=3, channels=30, num_groups=5, spatial=[7, 9, 5], weight=False, bias=True, eps=1e-3),
    dict(batch=5, channels=96, num_groups=32, spatial=[], weight=True, bias=True, eps=1e-5),
    dict(batch=2, channels=6, num_groups=3, spatial=[1001], weight=True, bias=True, eps=1e-5),
]


@pytest.mark.parametrize("cfg", LARGE_CASES, ids=ids)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_large_groups(device, cfg, dtype):
    x, w, b = make_args(cfg, device, dtype)
    if device == "cuda":
        poison_cuda_allocator(8 * x.numel() + 65536)
    assert_matches_reference(call(x, w, b, cfg), reference(x, w, b, cfg), tol(dtype, device))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_large_mean_is_stable(device, dtype):
    """A mean of 100 with unit spread: the variance must not come from E[x^2] - E[x]^2 in the input precision."""
    cfg = dict(num_groups=2, eps=1e-5)
    x = torch.randn(2, 8, 33, 31, device=device, dtype=dtype) + 100
    w, b = torch.randn(8, device=device, dtype=dtype), torch.randn(8, device=device, dtype=dtype)
    assert_matches_reference(op(x, 2, w, b), reference(x, w, b, cfg), tol(dtype, device))


def test_non_contiguous_inputs(device):
    """Transposed and sliced input, channels_last input, strided weight and bias; gradients too."""
    cfg = dict(batch=3, channels=6, num_groups=3, eps=1e-5)
    x0 = torch.randn(3, 6, 5, 7, device=device)
    x = x0.permute(0, 2, 3, 1).repeat_interleave(2, dim=2)[:, :, ::2].permute(0, 3, 1, 2)
    w = torch.randn(12, device=device)[::2]
    b = torch.randn(6, 2, device=device)[:, 1]
    assert not (x.is_contiguous() or w.is_contiguous() or b.is_contiguous()) and torch.equal(x, x0)
    ref = reference(x, w, b, cfg)
    assert_matches_reference(op(x, 3, w, b), ref, tol(torch.float32, device))
    xc = x0.to(memory_format=torch.channels_last)
    assert_matches_reference(op(xc, 3, w, b), ref, tol(torch.float32, device))
    x3 = torch.randn(3, 9, 6, device=device).transpose(1, 2)  # (N, C, L) with C strided
    assert_matches_reference(op(x3, 3, w, b), reference(x3, w, b, cfg), tol(torch.float32, device))
    # The backward op with an expanded grad_output (what out.sum() sends back) and a channels_last input.
    grad_out = torch.randn(3, 6, 1, 7, device=device).expand(-1, -1, 5, -1)
    grads = backward_op(grad_out, xc, 3, w, 1e-5, [True, True, True])
    for got, want in zip(grads, reference_grads(x, w, dict(cfg, channels=6), grad_out)):
        assert_matches_reference(got, want, 5 * tol(torch.float32, device))


def test_empty_batch(device):
    """N = 0: an empty output of the input's shape, zero weight and bias gradients."""
    x = torch.randn(0, 6, 5, device=device, requires_grad=True)
    w = torch.randn(6, device=device, requires_grad=True)
    b = torch.randn(6, device=device, requires_grad=True)
    out = op(x, 3, w, b)
    assert out.shape == F.group_norm(x.detach(), 3, w.detach(), b.detach()).shape == (0, 6, 5)
    gx, gw, gb = torch.autograd.grad(out.sum(), (x, w, b))
    assert gx.shape == x.shape
    assert torch.equal(gw, torch.zeros_like(w)) and torch.equal(gb, torch.zeros_like(b))


@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck(device, seed):
    """float64 gradcheck on tiny random shapes, with and without weight and bias."""
    for _ in range(5):
        cfg = random_config(seed, batch=seed.choice([1, 2]), max_spatial=4)
        while cfg["batch"] * cfg["channels"] * math.prod(cfg["spatial"]) > 60:  # gradcheck is O(numel^2)
            cfg = random_config(seed, batch=seed.choice([1, 2]), max_spatial=4)
        x, w, b = make_args(cfg, device, torch.float64, requires_grad=True)
        inputs = [t for t in (x, w, b) if t is not None]

        def fn(*t):
            it = iter(t)
            return op(next(it), cfg["num_groups"], next(it) if w is not None else None,
                      next(it) if b is not None else None, cfg["eps"])
        assert torch.autograd.gradcheck(fn, inputs)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gradients_against_reference(device, dtype, seed):
    """torch.autograd.grad through the op against float64 autograd, for every input that exists."""
    cfgs = [random_config(seed, batch=seed.choice([1, 2, 3])) for _ in range(4)] + LARGE_CASES[:1]
    for cfg in cfgs:
        x, w, b = make_args(cfg, device, dtype, requires_grad=True)
        out = call(x, w, b, cfg)
        grad_out = torch.randn_like(out)
        inputs = [t for t in (x, w, b) if t is not None]
        grads = torch.autograd.grad(out, inputs, grad_out)
        ref_inputs = [to64(t).requires_grad_() for t in inputs]
        it = iter(ref_inputs)
        ref = gn64(next(it), cfg["num_groups"], next(it) if w is not None else None,
                           next(it) if b is not None else None, cfg["eps"])
        ref_grads = torch.autograd.grad(ref, ref_inputs, to64(grad_out))
        limit = 1e-10 if dtype == torch.float64 else 5 * tol(dtype, device)
        for got, want in zip(grads, ref_grads):
            assert got.dtype == dtype
            assert_matches_reference(got, want, limit)


MASKS = [[True, True, True], [True, False, False], [False, True, False], [False, False, True], [False, True, True],
         [True, True, False], [False, False, False]]


@pytest.mark.parametrize("with_weight", [True, False], ids=["weight", "no-weight"])
def test_backward_op_and_output_mask(device, with_weight, seed):
    """None exactly where output_mask is False (and grad_weight when there is no weight); the rest equal
    float64 autograd."""
    cfg = dict(random_config(seed, batch=2), weight=with_weight)
    x, w, _ = make_args(cfg, device, torch.float64)
    grad_out = torch.randn_like(x)
    want = reference_grads(x, w, cfg, grad_out)
    for mask in MASKS:
        grads = backward_op(grad_out, x, cfg["num_groups"], w, cfg["eps"], mask)
        assert len(grads) == 3
        for i, (got, ref, on) in enumerate(zip(grads, want, mask)):
            if on and not (i == 1 and w is None):
                assert got is not None and got.dtype == torch.float64 and got.device == x.device
                assert_matches_reference(got, ref, 1e-10)
            else:
                assert got is None, (mask, i)


def test_double_backward_is_refused(device):
    x = torch.randn(2, 4, 9, device=device, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, device=device, dtype=torch.float64, requires_grad=True)
    out = op(x, 2, w, None)
    (gx,) = torch.autograd.grad((out * out).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward is not supported"):
        torch.autograd.grad(gx.sum(), w)


@pytest.mark.parametrize("requires_grad", [False, True])
def test_opcheck(device, requires_grad, seed):
    for cfg in [random_config(seed, batch=2, max_spatial=5) for _ in range(3)]:
        x, w, b = make_args(cfg, device, torch.float64, requires_grad)
        torch.library.opcheck(op, (x, cfg["num_groups"], w, b, cfg["eps"]))


def test_opcheck_backward(device, seed):
    cfg = dict(random_config(seed, batch=2, max_spatial=5), weight=True)
    x, w, _ = make_args(cfg, device, torch.float64)
    grad_out = torch.randn_like(x)
    for mask, weight in (([True, True, True], w), ([True, False, False], w), ([False, True, True], w),
                         ([True, True, True], None)):
        torch.library.opcheck(backward_op, (grad_out, x, cfg["num_groups"], weight, cfg["eps"], mask))


BAD_INPUTS = [
    # (description, input shape, num_groups, weight shape, bias shape, match)
    ("channels not divisible by num_groups", (2, 6, 5), 4, None, None, "divisible by num_groups"),
    ("num_groups < 1", (2, 6, 5), 0, None, None, "num_groups"),
    ("num_groups negative", (2, 6, 5), -2, None, None, "num_groups"),
    ("weight of the wrong size", (2, 6, 5), 3, (5,), None, "weight"),
    ("weight of the wrong rank", (2, 6, 5), 3, (6, 1), None, "weight"),
    ("bias of the wrong size", (2, 6, 5), 3, (6,), (7,), "bias"),
    ("1-D input", (6,), 3, None, None, "at least 2-D"),
    ("0-D input", (), 1, None, None, "at least 2-D"),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input(device, case):
    _, x_shape, num_groups, w_shape, b_shape, match = case
    x = torch.randn(x_shape, device=device)
    w = torch.randn(w_shape, device=device) if w_shape else None
    b = torch.randn(b_shape, device=device) if b_shape else None
    with pytest.raises(RuntimeError, match=match):
        op(x, num_groups, w, b)


def test_bad_dtypes_and_devices(device):
    x, w = torch.randn(2, 6, 5, device=device), torch.randn(6, device=device)
    with pytest.raises(RuntimeError, match="dtype"):
        op(x, 3, w.double(), None)
    with pytest.raises(RuntimeError, match="dtype"):
        op(x, 3, None, w.half())
    with pytest.raises(RuntimeError, match="must be float16, bfloat16, float32 or float64"):
        op(x.int(), 3, None, None)
    with pytest.raises(RuntimeError, match="grad_output"):
        backward_op(torch.randn(2, 6, 4, device=device), x, 3, w, 1e-5, [True, True, True])
    if torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="same device"):
            op(x.cuda(), 3, w.cpu(), None)
