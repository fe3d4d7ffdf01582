"""fusedops::conv2d and fusedops::conv_transpose2d against F.conv2d / F.conv_transpose2d in float64, on random
shapes: per-dimension stride, padding, dilation and output_padding, groups, optional bias, autograd, bad input."""
import math

import pytest
import torch
import torch.nn.functional as F

from conftest import (DEVICES, FLOAT_DTYPES, assert_matches_reference, cuda_kernels_launched, poison_cuda_allocator,
                      tolerance)

OPS = {
    "conv2d": (torch.ops.fusedops.conv2d, torch.ops.fusedops.conv2d_backward, F.conv2d),
    "conv_transpose2d": (torch.ops.fusedops.conv_transpose2d, torch.ops.fusedops.conv_transpose2d_backward,
                         F.conv_transpose2d),
}
KINDS = list(OPS)


def out_size(cfg):
    """(H_out, W_out) of the configuration, by the formula of each operator."""
    sizes = []
    for i in range(2):
        size, k, s, p, d = cfg["size"][i], cfg["kernel"][i], cfg["stride"][i], cfg["padding"][i], cfg["dilation"][i]
        if cfg["kind"] == "conv2d":
            sizes.append((size + 2 * p - d * (k - 1) - 1) // s + 1)
        else:
            sizes.append((size - 1) * s - 2 * p + d * (k - 1) + cfg["output_padding"][i] + 1)
    return tuple(sizes)


def random_config(rng, kind, max_channels=5, max_size=12, max_kernel=5, batch=None):
    """One random, valid configuration of `kind` (both output sizes are >= 1)."""
    def pair(lo, hi):
        return rng.randint(lo, hi), rng.randint(lo, hi)
    while True:
        kh = rng.randint(1, max_kernel)
        cfg = dict(
            kind=kind,
            batch=rng.choice([0, 1, 2, 3]) if batch is None else batch,
            groups=rng.choice([1, 1, 2, 3]),
            in_per_group=rng.randint(1, max_channels),
            out_per_group=rng.randint(1, max_channels),
            kernel=(kh, kh if rng.random() < 0.5 else rng.randint(1, max_kernel)),
            size=pair(1, max_size),
            stride=pair(1, 3),
            padding=pair(0, 3),
            dilation=pair(1, 3),
            bias=rng.random() < 0.7,
        )
        cfg["output_padding"] = (tuple(rng.randint(0, max(s, d) - 1) for s, d in zip(cfg["stride"], cfg["dilation"]))
                                 if kind == "conv_transpose2d" else (0, 0))
        if min(out_size(cfg)) >= 1:
            return cfg


def make_args(cfg, device, dtype, requires_grad=False):
    g, cin, cout = cfg["groups"], cfg["in_per_group"], cfg["out_per_group"]
    x = torch.randn(cfg["batch"], g * cin, *cfg["size"], device=device, dtype=dtype)
    w_shape = (g * cout, cin) if cfg["kind"] == "conv2d" else (g * cin, cout)
    w = torch.randn(*w_shape, *cfg["kernel"], device=device, dtype=dtype)
    b = torch.randn(g * cout, device=device, dtype=dtype) if cfg["bias"] else None
    for t in (x, w, b):
        if t is not None:
            t.requires_grad_(requires_grad)
    return x, w, b


def hyper(cfg):
    """The arguments after (input, weight, bias), in each schema's order."""
    s, p, d = list(cfg["stride"]), list(cfg["padding"]), list(cfg["dilation"])
    if cfg["kind"] == "conv2d":
        return s, p, d, cfg["groups"]
    return s, p, list(cfg["output_padding"]), cfg["groups"], d


def op_of(cfg):
    return OPS[cfg["kind"]][0]


def backward_op_of(cfg):
    return OPS[cfg["kind"]][1]


def reference(x, w, b, cfg):
    to64 = lambda t: None if t is None else t.detach().double().cpu()  # noqa: E731
    return OPS[cfg["kind"]][2](to64(x), to64(w), to64(b), *hyper(cfg))


def reference_grads(x, w, cfg, grad_out):
    """float64 autograd of the reference w.r.t. (input, weight, bias); the bias gradient is taken at a zero bias,
    so that it exists whatever the configuration."""
    inputs = (x.detach().double().cpu().requires_grad_(), w.detach().double().cpu().requires_grad_(),
              torch.zeros(cfg["groups"] * cfg["out_per_group"], dtype=torch.float64, requires_grad=True))
    out = OPS[cfg["kind"]][2](*inputs, *hyper(cfg))
    return torch.autograd.grad(out, inputs, grad_out.double().cpu())


def poison(cfg, device):
    """NaN in the CUDA allocator's free blocks, enough to cover the output and the input gradient."""
    if device == "cuda":
        n, g = max(cfg["batch"], 1), cfg["groups"]
        out_elems = n * g * cfg["out_per_group"] * math.prod(out_size(cfg))
        in_elems = n * g * cfg["in_per_group"] * math.prod(cfg["size"])
        poison_cuda_allocator(8 * max(out_elems, in_elems) + 65536)


def ids(c):
    return (f"{c['kind']}-n{c['batch']}-cin{c['groups'] * c['in_per_group']}-cout{c['groups'] * c['out_per_group']}"
            f"-g{c['groups']}-k{c['kernel'][0]}x{c['kernel'][1]}-s{c['stride'][0]}x{c['stride'][1]}"
            f"-d{c['dilation'][0]}x{c['dilation'][1]}")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_forward_random_shapes(device, kind, dtype, seed):
    """Random shapes (batch 0 included), every dtype: output dtype, device and values against float64."""
    for _ in range(20):
        cfg = random_config(seed, kind)
        x, w, b = make_args(cfg, device, dtype)
        poison(cfg, device)
        out = op_of(cfg)(x, w, b, *hyper(cfg))
        assert out.dtype == dtype and out.device == x.device
        assert_matches_reference(out, reference(x, w, b, cfg), tolerance(dtype, device))


@pytest.mark.parametrize("kind", KINDS)
def test_scalar_and_default_hyperparameters(device, kind):
    """int[2] arguments given as one int apply to both dimensions; the schema's defaults are F's defaults."""
    op, _, ref_fn = OPS[kind]
    x = torch.randn(2, 4, 9, 7, device=device, dtype=torch.float64)
    w1 = torch.randn(*((3, 4) if kind == "conv2d" else (4, 3)), 3, 2, device=device, dtype=torch.float64)
    assert_matches_reference(op(x, w1, None), ref_fn(x.cpu(), w1.cpu(), None), 1e-12)
    w = torch.randn(4, 2, 3, 2, device=device, dtype=torch.float64)  # groups = 2
    b = torch.randn(4, device=device, dtype=torch.float64)  # C_out = 4 for both operators
    if kind == "conv2d":
        params = (2, 1, 2, 2)  # stride, padding, dilation, groups
    else:
        params = (2, 1, 1, 2, 2)  # stride, padding, output_padding, groups, dilation
    assert_matches_reference(op(x, w, b, *params), ref_fn(x.cpu(), w.cpu(), b.cpu(), *params), 1e-12)


# Float32 sizes that take the CUDA fast paths (several channel tiles, spatial tiles with tails, grouped and
# strided/dilated variants) and larger gradient reductions.
FAST_PATH_CASES = [
    dict(kind="conv2d", batch=2, groups=1, in_per_group=16, out_per_group=32, kernel=(3, 3), size=(20, 23),
         stride=(1, 1), padding=(1, 1), dilation=(1, 1), output_padding=(0, 0), bias=True),
    dict(kind="conv2d", batch=3, groups=2, in_per_group=12, out_per_group=20, kernel=(3, 5), size=(17, 29),
         stride=(2, 1), padding=(1, 2), dilation=(1, 2), output_padding=(0, 0), bias=False),
    dict(kind="conv2d", batch=1, groups=1, in_per_group=35, out_per_group=70, kernel=(1, 1), size=(13, 11),
         stride=(1, 1), padding=(0, 0), dilation=(1, 1), output_padding=(0, 0), bias=True),
    dict(kind="conv2d", batch=2, groups=3, in_per_group=8, out_per_group=8, kernel=(4, 4), size=(25, 19),
         stride=(3, 2), padding=(3, 0), dilation=(2, 3), output_padding=(0, 0), bias=True),
    dict(kind="conv_transpose2d", batch=2, groups=1, in_per_group=16, out_per_group=32, kernel=(3, 3),
         size=(20, 23), stride=(1, 1), padding=(1, 1), dilation=(1, 1), output_padding=(0, 0), bias=True),
    dict(kind="conv_transpose2d", batch=2, groups=1, in_per_group=24, out_per_group=18, kernel=(4, 3),
         size=(11, 13), stride=(2, 2), padding=(1, 1), dilation=(1, 1), output_padding=(1, 0), bias=True),
    dict(kind="conv_transpose2d", batch=3, groups=2, in_per_group=10, out_per_group=20, kernel=(3, 5),
         size=(9, 14), stride=(3, 1), padding=(0, 2), dilation=(2, 1), output_padding=(2, 0), bias=False),
]


# Unit stride: the CUDA tensor-core path for both kernels (each operator's forward and its input gradient). Tiles are
# 8-128 channels of a group by 128-512 pixels flattened over the image: groups of 8 and of more than 128 channels,
# partial 8-channel reduction chunks, images narrower and wider than a pixel tile, 1x1 to 5x5 kernels with dilation,
# padding beyond the kernel's reach (a transposed convolution that crops) and output_padding.
TENSOR_CORE_CASES = [
    dict(kind="conv2d", batch=1, groups=1, in_per_group=19, out_per_group=136, kernel=(3, 2), size=(9, 150),
         stride=(1, 1), padding=(2, 0), dilation=(1, 3), output_padding=(0, 0), bias=True),
    dict(kind="conv_transpose2d", batch=2, groups=4, in_per_group=8, out_per_group=8, kernel=(3, 3), size=(21, 17),
         stride=(1, 1), padding=(0, 0), dilation=(1, 1), output_padding=(0, 0), bias=True),
    dict(kind="conv2d", batch=2, groups=1, in_per_group=8, out_per_group=32, kernel=(3, 3), size=(30, 37),
         stride=(1, 1), padding=(0, 0), dilation=(1, 1), output_padding=(0, 0), bias=True),
    dict(kind="conv_transpose2d", batch=2, groups=1, in_per_group=12, out_per_group=130, kernel=(5, 5), size=(6, 4),
         stride=(1, 1), padding=(1, 1), dilation=(2, 1), output_padding=(1, 0), bias=False),
    dict(kind="conv2d", batch=1, groups=1, in_per_group=5, out_per_group=12, kernel=(2, 4), size=(3, 700),
         stride=(1, 1), padding=(1, 3), dilation=(1, 2), output_padding=(0, 0), bias=True),
    dict(kind="conv_transpose2d", batch=2, groups=2, in_per_group=20, out_per_group=50, kernel=(1, 3), size=(11, 13),
         stride=(1, 1), padding=(1, 3), dilation=(1, 1), output_padding=(0, 0), bias=True),
    dict(kind="conv2d", batch=3, groups=3, in_per_group=8, out_per_group=16, kernel=(4, 3), size=(17, 19),
         stride=(1, 1), padding=(3, 1), dilation=(2, 2), output_padding=(0, 0), bias=False),
    dict(kind="conv_transpose2d", batch=1, groups=1, in_per_group=64, out_per_group=128, kernel=(5, 5), size=(8, 9),
         stride=(1, 1), padding=(1, 1), dilation=(1, 1), output_padding=(0, 0), bias=True),
    # Strided transposed convolutions: their output phases on the tensor cores; phases no tap lands on hold the bias
    # (or zero); phase paddings below zero; dilation sharing a factor with the stride.
    dict(kind="conv_transpose2d", batch=2, groups=1, in_per_group=16, out_per_group=24, kernel=(4, 4), size=(9, 11),
         stride=(2, 2), padding=(1, 1), dilation=(1, 1), output_padding=(1, 0), bias=True),
    dict(kind="conv_transpose2d", batch=1, groups=2, in_per_group=8, out_per_group=8, kernel=(1, 3), size=(7, 6),
         stride=(3, 2), padding=(0, 2), dilation=(1, 2), output_padding=(2, 1), bias=True),
    dict(kind="conv_transpose2d", batch=2, groups=1, in_per_group=5, out_per_group=9, kernel=(2, 1), size=(5, 8),
         stride=(3, 3), padding=(1, 0), dilation=(2, 1), output_padding=(0, 2), bias=False),
    # Enough blocks (560 >= 4 per SM on 132 SMs) for the 256-pixel tile, two channel tiles of it.
    dict(kind="conv_transpose2d", batch=140, groups=1, in_per_group=8, out_per_group=136, kernel=(3, 3), size=(14, 15),
         stride=(1, 1), padding=(0, 0), dilation=(1, 1), output_padding=(0, 0), bias=True),
]


@pytest.mark.parametrize("cfg", FAST_PATH_CASES + TENSOR_CORE_CASES, ids=ids)
@pytest.mark.parametrize("tf32", [True, False], ids=["tf32", "fp32"])
def test_float32_precision_policy(device, cfg, tf32, monkeypatch):
    """TF32 only when torch.backends.cudnn.allow_tf32 is on; full float32 accuracy when it is off."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", tf32)
    x, w, b = make_args(cfg, device, torch.float32)
    poison(cfg, device)
    out = op_of(cfg)(x, w, b, *hyper(cfg))
    assert_matches_reference(out, reference(x, w, b, cfg), tolerance(torch.float32, device, tf32))


@pytest.mark.parametrize("kind", KINDS)
def test_non_contiguous_inputs(device, kind):
    """Permuted and sliced input, weight and bias; channels_last input and weight; gradients too."""
    cfg = dict(kind=kind, batch=3, groups=2, in_per_group=3, out_per_group=4, kernel=(3, 2), size=(9, 8),
               stride=(2, 1), padding=(1, 2), dilation=(1, 2), output_padding=(1, 0), bias=True)
    x0, w0, _ = make_args(cfg, device, torch.float32)
    # Same values, other layouts: (N, H, C, 2W) storage sliced and permuted back.
    x = torch.zeros(x0.shape[0], x0.shape[2], x0.shape[1], x0.shape[3] * 2, device=device)
    x[..., ::2] = x0.permute(0, 2, 1, 3)
    x = x.permute(0, 2, 1, 3)[..., ::2]
    w = w0.permute(3, 2, 1, 0).contiguous().permute(3, 2, 1, 0)
    b = torch.randn(cfg["groups"] * cfg["out_per_group"] * 2, device=device)[::2]
    assert not (x.is_contiguous() or w.is_contiguous() or b.is_contiguous())
    assert torch.equal(x, x0) and torch.equal(w, w0)
    op = op_of(cfg)
    out = op(x, w, b, *hyper(cfg))
    assert_matches_reference(out, reference(x, w, b, cfg), tolerance(torch.float32, device))
    xc, wc = x0.to(memory_format=torch.channels_last), w0.to(memory_format=torch.channels_last)
    assert_matches_reference(op(xc, wc, b, *hyper(cfg)), reference(x, w, b, cfg), tolerance(torch.float32, device))
    # The backward op with a non-contiguous (expanded, then transposed) grad_output and inputs.
    grad_out = torch.randn(out.shape[0], out.shape[1], out.shape[3], 1, device=device).expand(
        -1, -1, -1, out.shape[2]).transpose(2, 3)
    grads = backward_op_of(cfg)(grad_out, xc, w, *hyper(cfg), [True, True, True])
    for got, want in zip(grads, reference_grads(x, w, cfg, grad_out)):
        assert_matches_reference(got, want, tolerance(torch.float32, device))


@pytest.mark.parametrize("kind", KINDS)
def test_empty_batch(device, kind):
    """N = 0: an empty output of the right shape, and zero weight and bias gradients."""
    op, _, ref_fn = OPS[kind]
    x = torch.randn(0, 4, 10, 7, device=device, requires_grad=True)
    w = torch.randn(6 if kind == "conv2d" else 4, 2, 3, 2, device=device, requires_grad=True)
    b = torch.randn(6 if kind == "conv2d" else 4, device=device, requires_grad=True)
    params = ([2, 1], [1, 0], [1, 2], 2) if kind == "conv2d" else ([2, 1], [1, 0], [1, 0], 2, [1, 2])
    out = op(x, w, b, *params)
    expected = ref_fn(x.detach().cpu(), w.detach().cpu(), b.detach().cpu(), *params)
    assert out.shape == expected.shape and out.shape[0] == 0 and out.numel() == 0
    gx, gw, gb = torch.autograd.grad(out.sum(), (x, w, b))
    assert gx.shape == x.shape
    assert gw.shape == w.shape and torch.equal(gw, torch.zeros_like(gw))
    assert gb.shape == b.shape and torch.equal(gb, torch.zeros_like(gb))


@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck(device, kind, seed):
    """float64 gradcheck of the public op (through its backward op) on tiny random shapes (at most 120 output
    elements: gradcheck does one backward per output element)."""
    for _ in range(3):
        cfg = random_config(seed, kind, max_channels=3, max_size=6, max_kernel=3, batch=seed.choice([1, 2]))
        while cfg["batch"] * cfg["groups"] * cfg["out_per_group"] * math.prod(out_size(cfg)) > 120:
            cfg = random_config(seed, kind, max_channels=3, max_size=6, max_kernel=3, batch=seed.choice([1, 2]))
        x, w, b = make_args(cfg, device, torch.float64, requires_grad=True)
        op = op_of(cfg)
        inputs = (x, w) if b is None else (x, w, b)
        assert torch.autograd.gradcheck(lambda *t: op(*t, *([None] if b is None else []), *hyper(cfg)), inputs)


@pytest.mark.parametrize("cfg", [FAST_PATH_CASES[i] for i in (0, 1, 4, 5, 6)] + TENSOR_CORE_CASES, ids=ids)
@pytest.mark.parametrize("tf32", [True, False], ids=["tf32", "fp32"])
def test_gradients_against_reference(device, cfg, tf32, monkeypatch):
    """Larger float32 shapes: input, weight and bias gradients (the tiled reductions) against float64, under both
    float32 precision policies (the input gradient runs the other convolution kernel)."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", tf32)
    x, w, b = make_args(cfg, device, torch.float32, requires_grad=True)
    out = op_of(cfg)(x, w, b, *hyper(cfg))
    grad_out = torch.randn_like(out)
    poison(cfg, device)
    inputs = (x, w) if b is None else (x, w, b)
    grads = torch.autograd.grad(out, inputs, grad_out)
    # The gradients reduce over thousands of terms (3xTF32 drops the lo * lo products): twice the forward's bound.
    for got, want in zip(grads, reference_grads(x, w, cfg, grad_out)):
        assert_matches_reference(got, want, 2 * tolerance(torch.float32, device, tf32))


def case(kind, batch, groups, cin, cout, kernel, size, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
         output_padding=(0, 0)):
    return dict(kind=kind, batch=batch, groups=groups, in_per_group=cin, out_per_group=cout, kernel=kernel, size=size,
                stride=stride, padding=padding, dilation=dilation, output_padding=output_padding, bias=False)


# The float32 weight gradient's tensor-core kernel (CUDA, sm_80 and newer): each of its tile shapes (the reduction's
# output channels x input channels x taps per block: 16 x 8 x 1/3/5/9, 32 x 16 x 1/3/5, 32 x 32 x 1/3), partial
# channel tiles, rows whose length is not a multiple of its 32-position steps, tap chunks that span kernel rows,
# stride, dilation, padding beyond the kernel's reach, and both operators (their convolutions' input and output swap).
WEIGHT_GRAD_CASES = [
    case("conv2d", 2, 2, 8, 8, (3, 3), (20, 70), padding=(1, 1)),
    case("conv_transpose2d", 2, 1, 4, 6, (4, 4), (9, 11), stride=(2, 2), padding=(1, 1), output_padding=(1, 0)),
    case("conv_transpose2d", 2, 1, 24, 20, (5, 5), (8, 9), padding=(1, 1)),
    case("conv2d", 2, 1, 40, 36, (1, 3), (5, 100), stride=(1, 2), padding=(0, 1), dilation=(1, 2)),
    case("conv2d", 1, 3, 12, 20, (3, 1), (11, 45), stride=(2, 1), padding=(4, 0), dilation=(2, 1)),
    case("conv2d", 2, 1, 5, 7, (1, 1), (13, 40), stride=(2, 2)),
    case("conv2d", 1, 1, 33, 20, (1, 1), (6, 50)),
    case("conv2d", 2, 1, 12, 20, (1, 1), (7, 33)),
    case("conv_transpose2d", 2, 2, 16, 8, (1, 5), (3, 61), dilation=(1, 3)),
    case("conv2d", 1, 1, 9, 17, (7, 7), (16, 40), padding=(3, 3)),
]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA")
@pytest.mark.parametrize("cfg", WEIGHT_GRAD_CASES, ids=ids)
@pytest.mark.parametrize("tf32", [True, False], ids=["tf32", "fp32"])
def test_weight_grad_tensor_core(cfg, tf32, monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", tf32)
    x, w, _ = make_args(cfg, "cuda", torch.float32)
    grad_out = torch.randn(cfg["batch"], cfg["groups"] * cfg["out_per_group"], *out_size(cfg), device="cuda")
    def weight_grad():
        return backward_op_of(cfg)(grad_out, x, w, *hyper(cfg), [False, True, False])[1]
    poison(cfg, "cuda")
    want = reference_grads(x, w, cfg, grad_out)[1]
    assert_matches_reference(weight_grad(), want, 2 * tolerance(torch.float32, "cuda", tf32))
    launched = cuda_kernels_launched(weight_grad) if torch.cuda.get_device_capability() >= (8, 0) else None
    if launched is not None:
        assert any("weight_grad_tf32_kernel" in name for name in launched), launched


MASKS = [[True, True, True], [True, False, False], [False, True, False], [False, False, True], [False, True, True],
         [True, True, False], [False, False, False]]


@pytest.mark.parametrize("kind", KINDS)
def test_backward_op_and_output_mask(device, kind, seed):
    """The backward op: None exactly where output_mask is False, the other gradients equal float64 autograd."""
    cfg = random_config(seed, kind, batch=2)
    x, w, _ = make_args(cfg, device, torch.float64)
    grad_out = torch.randn(2, cfg["groups"] * cfg["out_per_group"], *out_size(cfg), device=device,
                           dtype=torch.float64)
    want = reference_grads(x, w, cfg, grad_out)
    for mask in MASKS:
        grads = backward_op_of(cfg)(grad_out, x, w, *hyper(cfg), mask)
        assert len(grads) == 3
        for got, ref, on in zip(grads, want, mask):
            if on:
                assert got is not None and got.dtype == torch.float64 and got.device == x.device
                assert_matches_reference(got, ref, 1e-12)
            else:
                assert got is None


@pytest.mark.parametrize("kind", KINDS)
def test_double_backward_is_refused(device, kind):
    x = torch.randn(2, 4, 6, 5, device=device, dtype=torch.float64, requires_grad=True)
    w = torch.randn(*((3, 4) if kind == "conv2d" else (4, 3)), 3, 3, device=device, dtype=torch.float64,
                    requires_grad=True)
    out = OPS[kind][0](x, w, None)
    (gx,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward is not supported"):
        torch.autograd.grad(gx.sum(), w)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("requires_grad", [False, True])
def test_opcheck(device, kind, requires_grad, seed):
    for cfg in [random_config(seed, kind, max_channels=3, max_size=7, max_kernel=3, batch=2) for _ in range(2)]:
        args = (*make_args(cfg, device, torch.float64, requires_grad), *hyper(cfg))
        torch.library.opcheck(op_of(cfg), args)


@pytest.mark.parametrize("kind", KINDS)
def test_opcheck_backward(device, kind, seed):
    cfg = random_config(seed, kind, max_channels=3, max_size=7, max_kernel=3, batch=2)
    x, w, b = make_args(cfg, device, torch.float64)
    grad_out = torch.randn_like(op_of(cfg)(x, w, b, *hyper(cfg)))
    for mask in ([True, True, True], [True, False, False], [False, True, True]):
        torch.library.opcheck(backward_op_of(cfg), (grad_out, x, w, *hyper(cfg), mask))


# (description, input shape, weight shape, bias shape, (stride, padding, dilation, groups), match)
BAD_CONV2D = [
    ("wrong input rank", (2, 4, 8), (3, 4, 3, 3), None, (1, 0, 1, 1), "must be 4-D"),
    ("wrong weight rank", (2, 4, 8, 8), (3, 4, 3), None, (1, 0, 1, 1), "must be 4-D"),
    ("out channels not divisible by groups", (2, 4, 8, 8), (5, 2, 3, 3), None, (1, 0, 1, 2), "divisible by groups"),
    ("weight does not match in_channels", (2, 4, 8, 8), (3, 3, 3, 3), None, (1, 0, 1, 1), "weight"),
    ("stride < 1", (2, 4, 8, 8), (3, 4, 3, 3), None, ([1, 0], 0, 1, 1), "stride must be >= 1"),
    ("dilation < 1", (2, 4, 8, 8), (3, 4, 3, 3), None, (1, 0, [0, 1], 1), "dilation must be >= 1"),
    ("padding < 0", (2, 4, 8, 8), (3, 4, 3, 3), None, (1, [0, -1], 1, 1), "padding must be >= 0"),
    ("output size <= 0", (2, 4, 2, 8), (3, 4, 3, 3), None, (1, 0, 1, 1), "output size"),
    ("output width <= 0", (2, 4, 8, 8), (3, 4, 3, 3), None, (1, 0, [1, 4], 1), "output size"),
    ("bias of the wrong size", (2, 4, 8, 8), (3, 4, 3, 3), (4,), (1, 0, 1, 1), "bias"),
    ("groups < 1", (2, 4, 8, 8), (3, 4, 3, 3), None, (1, 0, 1, 0), "groups must be >= 1"),
]
# (description, input shape, weight shape, bias shape, (stride, padding, output_padding, groups, dilation), match)
BAD_CONV_TRANSPOSE2D = [
    ("wrong input rank", (2, 4, 8), (4, 3, 3, 3), None, (1, 0, 0, 1, 1), "must be 4-D"),
    ("wrong weight rank", (2, 4, 8, 8), (4, 3, 3), None, (1, 0, 0, 1, 1), "must be 4-D"),
    ("in channels not divisible by groups", (2, 5, 8, 8), (5, 3, 3, 3), None, (1, 0, 0, 2, 1),
     "divisible by groups"),
    ("weight does not match in_channels", (2, 4, 8, 8), (6, 3, 3, 3), None, (1, 0, 0, 1, 1), "weight"),
    ("stride < 1", (2, 4, 8, 8), (4, 3, 3, 3), None, ([0, 1], 0, 0, 1, 1), "stride must be >= 1"),
    ("dilation < 1", (2, 4, 8, 8), (4, 3, 3, 3), None, (1, 0, 0, 1, [1, 0]), "dilation must be >= 1"),
    ("padding < 0", (2, 4, 8, 8), (4, 3, 3, 3), None, (1, [-1, 0], 0, 1, 1), "padding must be >= 0"),
    ("output_padding too large", (2, 4, 8, 8), (4, 3, 3, 3), None, (2, 0, [0, 2], 1, 1), "output_padding"),
    ("output_padding < 0", (2, 4, 8, 8), (4, 3, 3, 3), None, (2, 0, [-1, 0], 1, 1), "output_padding"),
    ("output size <= 0", (2, 4, 1, 8), (4, 3, 1, 1), None, (1, [2, 0], 0, 1, 1), "output size"),
    ("bias of the wrong size", (2, 4, 8, 8), (4, 3, 3, 3), (4,), (1, 0, 0, 1, 1), "bias"),
    ("groups < 1", (2, 4, 8, 8), (4, 3, 3, 3), None, (1, 0, 0, 0, 1), "groups must be >= 1"),
]
BAD_INPUTS = [("conv2d", *c) for c in BAD_CONV2D] + [("conv_transpose2d", *c) for c in BAD_CONV_TRANSPOSE2D]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[f"{c[0]}-{c[1]}" for c in BAD_INPUTS])
def test_bad_input(device, case):
    kind, _, x_shape, w_shape, b_shape, params, match = case
    x, w = torch.randn(x_shape, device=device), torch.randn(w_shape, device=device)
    b = torch.randn(b_shape, device=device) if b_shape else None
    with pytest.raises(RuntimeError, match=match):
        OPS[kind][0](x, w, b, *params)


@pytest.mark.parametrize("kind", KINDS)
def test_backward_bad_grad_output(device, kind):
    """The backward op checks grad_output's shape against the forward's output shape."""
    x, w = torch.randn(2, 4, 8, 8, device=device), torch.randn(4, 4, 3, 3, device=device)
    out_hw = 6 if kind == "conv2d" else 10
    params = ([1, 1], [0, 0], [1, 1], 1) if kind == "conv2d" else ([1, 1], [0, 0], [0, 0], 1, [1, 1])
    grad_out = torch.randn(2, 4, out_hw, out_hw + 1, device=device)
    with pytest.raises(RuntimeError, match="grad_output"):
        OPS[kind][1](grad_out, x, w, *params, [True, True, True])


@pytest.mark.parametrize("kind", KINDS)
def test_bad_dtypes_and_devices(device, kind):
    op = OPS[kind][0]
    x, w = torch.randn(2, 4, 8, 8, device=device), torch.randn(4, 4, 3, 3, device=device)
    with pytest.raises(RuntimeError, match="dtype"):
        op(x, w.double(), None)
    with pytest.raises(RuntimeError, match="dtype"):
        op(x, w, torch.randn(4, device=device, dtype=torch.float16))
    with pytest.raises(RuntimeError, match="must be float16, bfloat16, float32 or float64"):
        op(x.int(), w.int(), None)
    if torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="same device"):
            op(x.cuda(), w.cpu(), None)
        with pytest.raises(RuntimeError, match="same device"):
            op(x.cuda(), w.cuda(), torch.randn(4))
