"""fusedops::conv_transpose1d against nn.ConvTranspose1d's math in float64, on random shapes."""
import pytest
import torch
import torch.nn.functional as F

from conftest import (DEVICES, FLOAT_DTYPES, assert_matches_reference, cuda_kernels_launched, hopper_wgmma_build,
                      poison_cuda_allocator, tolerance)

op = torch.ops.fusedops.conv_transpose1d
backward_op = torch.ops.fusedops.conv_transpose1d_backward


def random_config(rng, max_channels=9, max_length=40, batch=None):
    """One random, valid conv_transpose1d configuration (the output length is always >= 1)."""
    while True:
        groups = rng.choice([1, 1, 2, 3])
        cfg = dict(
            batch=rng.choice([0, 1, 2, 3]) if batch is None else batch,
            in_channels=groups * rng.randint(1, max_channels),
            out_per_group=rng.randint(1, max_channels),
            kernel=rng.randint(1, 5),
            length=rng.randint(1, max_length),
            stride=rng.randint(1, 3),
            padding=rng.randint(0, 3),
            dilation=rng.randint(1, 3),
            groups=groups,
            bias=rng.random() < 0.7,
        )
        cfg["output_padding"] = rng.randint(0, max(cfg["stride"], cfg["dilation"]) - 1)
        out_length = ((cfg["length"] - 1) * cfg["stride"] - 2 * cfg["padding"] + cfg["dilation"] * (cfg["kernel"] - 1)
                      + cfg["output_padding"] + 1)
        if out_length >= 1:
            return cfg


def make_args(cfg, device, dtype, requires_grad=False):
    x = torch.randn(cfg["batch"], cfg["in_channels"], cfg["length"], device=device, dtype=dtype)
    w = torch.randn(cfg["in_channels"], cfg["out_per_group"], cfg["kernel"], device=device, dtype=dtype)
    b = torch.randn(cfg["out_per_group"] * cfg["groups"], device=device, dtype=dtype) if cfg["bias"] else None
    for t in (x, w, b):
        if t is not None:
            t.requires_grad_(requires_grad)
    return x, w, b


def hyper(cfg):
    return cfg["stride"], cfg["padding"], cfg["output_padding"], cfg["groups"], cfg["dilation"]


def reference(x, w, b, cfg):
    return F.conv_transpose1d(x.double().cpu(), w.double().cpu(), None if b is None else b.double().cpu(),
                              *hyper(cfg))

@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_forward_random_shapes(device, dtype, seed):
    for _ in range(25):
        cfg = random_config(seed)
        x, w, b = make_args(cfg, device, dtype)
        if device == "cuda":
            poison_cuda_allocator(4 * cfg["batch"] * cfg["in_channels"] * cfg["out_per_group"] * cfg["length"] * 9)
        out = op(x, w, b, *hyper(cfg))
        assert out.dtype == dtype and out.device == x.device
        assert_matches_reference(out, reference(x, w, b, cfg), tolerance(dtype, device))

# Sizes that take the CUDA tensor-core path: several channel tiles (C_out/groups > 64 or 128),
# channel chunks that are not a multiple of 8, many time tiles, stride 1 and > 1.
TENSOR_CORE_CASES = [
    dict(batch=2, in_channels=20, out_per_group=130, kernel=3, length=300, stride=1, padding=1, dilation=1,
         groups=1, output_padding=0, bias=True),
    dict(batch=3, in_channels=34, out_per_group=40, kernel=5, length=257, stride=1, padding=0, dilation=3,
         groups=2, output_padding=2, bias=False),
    dict(batch=2, in_channels=32, out_per_group=64, kernel=3, length=200, stride=2, padding=1, dilation=2,
         groups=1, output_padding=1, bias=True),
    dict(batch=1, in_channels=9, out_per_group=70, kernel=4, length=129, stride=3, padding=2, dilation=1,
         groups=1, output_padding=2, bias=True),
    # A halo too wide for shared memory: the direct fallback kernel.
    dict(batch=1, in_channels=8, out_per_group=16, kernel=3, length=50, stride=1, padding=0, dilation=20000,
         groups=1, output_padding=0, bias=True),
]

@pytest.mark.parametrize("cfg", TENSOR_CORE_CASES, ids=lambda c: f"cin{c['in_channels']}-k{c['kernel']}-s{c['stride']}-d{c['dilation']}")
@pytest.mark.parametrize("tf32", [True, False], ids=["tf32", "fp32"])
def test_float32_precision_policy(device, cfg, tf32, monkeypatch):
    """TF32 only when torch.backends.cudnn.allow_tf32 is on; full float32 accuracy when it is off."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", tf32)
    x, w, b = make_args(cfg, device, torch.float32)
    if device == "cuda":
        poison_cuda_allocator(4 * cfg["batch"] * cfg["out_per_group"] * cfg["groups"] * (cfg["length"] * 4 + 40000))
    out = op(x, w, b, *hyper(cfg))
    assert_matches_reference(out, reference(x, w, b, cfg), tolerance(torch.float32, device, tf32))

# Unit stride with more than 32 output channels per group: on Hopper the single-row wgmma kernel. Partial channel tiles
# and 8-channel chunks, lengths that are not a multiple of 4 (the transposition's unaligned rows), padding that crops
# more than the kernel's reach, one tap, groups, several tiles per persistent block (the stage ring across tiles).
ROW_KERNEL_CASES = [
    dict(batch=2, in_channels=40, out_per_group=64, kernel=3, length=1000, stride=1, padding=0, dilation=1,
         groups=1, output_padding=0, bias=True),
    dict(batch=3, in_channels=20, out_per_group=40, kernel=4, length=30001, stride=1, padding=2, dilation=2,
         groups=1, output_padding=0, bias=False),
    dict(batch=2, in_channels=32, out_per_group=64, kernel=5, length=3000, stride=1, padding=1, dilation=3,
         groups=1, output_padding=2, bias=True),
    dict(batch=2, in_channels=48, out_per_group=48, kernel=3, length=777, stride=1, padding=3, dilation=1,
         groups=2, output_padding=0, bias=True),
    dict(batch=1, in_channels=8, out_per_group=33, kernel=1, length=302, stride=1, padding=0, dilation=1,
         groups=1, output_padding=0, bias=True),
    # 128-channel tiles: L1_64's shape at an odd length, a group of 65, and two tiles per group (the second partial).
    dict(batch=2, in_channels=128, out_per_group=128, kernel=3, length=4099, stride=1, padding=0, dilation=1,
         groups=1, output_padding=0, bias=True),
    dict(batch=2, in_channels=12, out_per_group=65, kernel=3, length=600, stride=1, padding=2, dilation=1,
         groups=1, output_padding=0, bias=False),
    dict(batch=1, in_channels=24, out_per_group=200, kernel=2, length=1500, stride=1, padding=1, dilation=2,
         groups=2, output_padding=1, bias=True),
]
row_ids = [f"cin{c['in_channels']}-cout{c['out_per_group']}-k{c['kernel']}-len{c['length']}" for c in ROW_KERNEL_CASES]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA")
@pytest.mark.parametrize("cfg", ROW_KERNEL_CASES, ids=row_ids)
@pytest.mark.parametrize("tf32", [True, False], ids=["tf32", "fp32"])
def test_row_kernel(cfg, tf32, monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", tf32)
    x, w, b = make_args(cfg, "cuda", torch.float32)
    out_length = cfg["length"] + cfg["dilation"] * (cfg["kernel"] - 1) - 2 * cfg["padding"] + cfg["output_padding"]
    poison_cuda_allocator(4 * cfg["batch"] * cfg["out_per_group"] * cfg["groups"] * out_length * 2)
    out = op(x, w, b, *hyper(cfg))
    assert_matches_reference(out, reference(x, w, b, cfg), tolerance(torch.float32, "cuda", tf32))
    launched = cuda_kernels_launched(lambda: op(x, w, b, *hyper(cfg))) if hopper_wgmma_build() else None
    if launched is not None:
        assert any("row_wgmma_kernel" in name for name in launched), launched


def test_non_contiguous_inputs(device):
    cfg = dict(batch=3, in_channels=6, out_per_group=5, kernel=3, length=17, stride=2, padding=1, dilation=2,
               groups=2, output_padding=1, bias=True)
    x = torch.randn(cfg["batch"], cfg["length"] * 2, cfg["in_channels"], device=device).transpose(1, 2)[:, :, ::2]
    w = torch.randn(cfg["kernel"], cfg["out_per_group"], cfg["in_channels"], device=device).permute(2, 1, 0)
    b = torch.randn(cfg["out_per_group"] * 2 * 2, device=device)[::2]
    assert not (x.is_contiguous() or w.is_contiguous() or b.is_contiguous())
    out = op(x, w, b, *hyper(cfg))
    assert_matches_reference(out, reference(x, w, b, cfg), tolerance(torch.float32, device))

def test_empty_batch(device):
    x = torch.randn(0, 4, 10, device=device)
    w = torch.randn(4, 3, 3, device=device)
    out = op(x, w, None, 2, 1, 0, 1, 1)
    assert out.shape == F.conv_transpose1d(x, w, None, 2, 1).shape == (0, 3, 19)

@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck(device, seed):
    for _ in range(4):
        cfg = random_config(seed, max_channels=3, max_length=7, batch=seed.choice([1, 2]))
        x, w, b = make_args(cfg, device, torch.float64, requires_grad=True)
        inputs = (x, w) if b is None else (x, w, b)
        assert torch.autograd.gradcheck(lambda *t: op(*t, *([None] if b is None else []), *hyper(cfg)), inputs)

@pytest.mark.parametrize("tf32", [True, False], ids=["tf32", "fp32"])
def test_gradients_against_reference(device, tf32, monkeypatch):
    """Larger float32 shapes: the tiled grad_weight reduction over several slices and tiles, under both float32
    precision policies (on CUDA both gradients run conv2d's kernels: the input gradient the strided convolution's
    direct kernel, the weight gradient the tensor cores)."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", tf32)
    cfg = dict(batch=3, in_channels=40, out_per_group=36, kernel=3, length=700, stride=2, padding=1, dilation=2,
               groups=1, output_padding=1, bias=True)
    x, w, b = make_args(cfg, device, torch.float32, requires_grad=True)
    out = op(x, w, b, *hyper(cfg))
    grad_out = torch.randn_like(out)
    grads = torch.autograd.grad(out, (x, w, b), grad_out)
    ref_inputs = [t.detach().double().cpu().requires_grad_() for t in (x, w, b)]
    ref = F.conv_transpose1d(*ref_inputs, *hyper(cfg))
    ref_grads = torch.autograd.grad(ref, ref_inputs, grad_out.double().cpu())
    for got, want in zip(grads, ref_grads):
        assert_matches_reference(got, want, 2 * tolerance(torch.float32, device, tf32))

def test_backward_output_mask(device):
    cfg = random_config(__import__("random").Random(0), batch=2)
    x, w, _ = make_args(cfg, device, torch.float64)
    out = op(x, w, None, *hyper(cfg))
    gi, gw, gb = backward_op(torch.randn_like(out), x, w, *hyper(cfg), [False, True, False])
    assert gi is None and gb is None and gw.shape == w.shape

def test_double_backward_is_refused(device):
    x = torch.randn(2, 4, 9, device=device, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 3, device=device, dtype=torch.float64, requires_grad=True)
    out = op(x, w, None, 1, 0, 0, 1, 1)
    (gx,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward is not supported"):
        torch.autograd.grad(gx.sum(), w)

@pytest.mark.parametrize("requires_grad", [False, True])
def test_opcheck(device, requires_grad, seed):
    for cfg in [random_config(seed, max_channels=4, max_length=9, batch=2) for _ in range(3)]:
        args = (*make_args(cfg, device, torch.float64, requires_grad), *hyper(cfg))
        torch.library.opcheck(op, args)

def test_opcheck_backward(device, seed):
    cfg = random_config(seed, max_channels=4, max_length=9, batch=2)
    x, w, b = make_args(cfg, device, torch.float64)
    grad_out = torch.randn_like(op(x, w, b, *hyper(cfg)))
    for mask in ([True, True, True], [True, False, False], [False, True, True]):
        torch.library.opcheck(backward_op, (grad_out, x, w, *hyper(cfg), mask))

BAD_INPUTS = [
    # (description, input shape, weight shape, bias shape, (stride, padding, output_padding, groups, dilation), match)
    ("wrong input rank", (2, 4), (4, 3, 3), None, (1, 0, 0, 1, 1), "input must be 3-D"),
    ("wrong weight rank", (2, 4, 8), (4, 3), None, (1, 0, 0, 1, 1), "weight must be 3-D"),
    ("channels not divisible by groups", (2, 5, 8), (5, 3, 3), None, (1, 0, 0, 2, 1), "divisible by groups"),
    ("weight does not match in_channels", (2, 4, 8), (6, 3, 3), None, (1, 0, 0, 1, 1), "weight.size\\(0\\)"),
    ("stride < 1", (2, 4, 8), (4, 3, 3), None, (0, 0, 0, 1, 1), "stride must be >= 1"),
    ("dilation < 1", (2, 4, 8), (4, 3, 3), None, (1, 0, 0, 1, 0), "dilation must be >= 1"),
    ("padding < 0", (2, 4, 8), (4, 3, 3), None, (1, -1, 0, 1, 1), "padding must be >= 0"),
    ("output_padding too large", (2, 4, 8), (4, 3, 3), None, (2, 0, 2, 1, 1), "output_padding"),
    ("output length <= 0", (2, 4, 1), (4, 3, 1), None, (1, 2, 0, 1, 1), "output length"),
    ("bias of the wrong size", (2, 4, 8), (4, 3, 3), (4,), (1, 0, 0, 1, 1), "bias must have"),
    ("groups < 1", (2, 4, 8), (4, 3, 3), None, (1, 0, 0, 0, 1), "groups must be >= 1"),
]

@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input(device, case):
    _, x_shape, w_shape, b_shape, params, match = case
    x, w = torch.randn(x_shape, device=device), torch.randn(w_shape, device=device)
    b = torch.randn(b_shape, device=device) if b_shape else None
    with pytest.raises(RuntimeError, match=match):
        op(x, w, b, *params)

def test_bad_dtypes_and_devices(device):
    x, w = torch.randn(2, 4, 8, device=device), torch.randn(4, 3, 3, device=device)
    with pytest.raises(RuntimeError, match="weight has dtype"):
        op(x, w.double(), None)
    with pytest.raises(RuntimeError, match="input must be float16, bfloat16, float32 or float64"):
        op(x.int(), w.int(), None)
    if torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="same device"):
            op(x.cuda(), w.cpu(), None)
