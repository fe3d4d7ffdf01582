"""The fused convolution + GroupNorm chains against their float64 torch.nn.functional compositions:
  L2_21 conv2d_add_scale_sigmoid_group_norm: group_norm(sigmoid((conv2d(x) + bias) * scale)),
  L2_19 conv_transpose2d_gelu_group_norm:    group_norm(gelu(conv_transpose2d(x))),
each as the public op, its _forward (output and conv_output) and its _backward, with autograd through the public op."""
import math

import pytest
import torch
import torch.nn.functional as F

from conftest import DEVICES, FLOAT_DTYPES, assert_matches_reference, poison_cuda_allocator, rel_l2, tolerance

# Shapes of L2_21's per-channel bias and scale: each broadcasts against (N, C, H, W) over C only, or is one value.
PARAM_SHAPES = {"C11": lambda c: (c, 1, 1), "1C11": lambda c: (1, c, 1, 1), "111": lambda c: (1, 1, 1),
                "1": lambda c: (1,), "scalar": lambda c: ()}


def out_size(cfg):
    sizes = []
    for i in range(2):
        size, k, s, p, d = cfg["size"][i], cfg["kernel"][i], cfg["stride"][i], cfg["padding"][i], cfg["dilation"][i]
        if cfg["transposed"]:
            sizes.append((size - 1) * s - 2 * p + d * (k - 1) + cfg["output_padding"][i] + 1)
        else:
            sizes.append((size + 2 * p - d * (k - 1) - 1) // s + 1)
    return tuple(sizes)


def gn64(x, num_groups, w, b, eps):
    """F.group_norm for the float64 references, with a unit weight where there is none but a bias: PyTorch's CPU
    backward fails ("tensor does not have a device") on a bias gradient without a weight."""
    if w is None and b is not None:
        w = torch.ones(x.shape[1], dtype=x.dtype, device=x.device)
    return F.group_norm(x, num_groups, w, b, eps)


def every_row_and_column_sees_input(cfg):
    """False when, along H or W, no output position receives any input element (only padding): the conv output
    is then constant over each GroupNorm group, which normalizes it to a constant with ~0 gradients."""
    for i in range(2):
        size, k, s, p, d = cfg["size"][i], cfg["kernel"][i], cfg["stride"][i], cfg["padding"][i], cfg["dilation"][i]
        if cfg["transposed"]:
            out = out_size(cfg)[i]
            hit = any(0 <= j * s - p + t * d < out for j in range(size) for t in range(k))
        else:
            hit = any(0 <= o * s - p + t * d < size for o in range(out_size(cfg)[i]) for t in range(k))
        if not hit:
            return False
    return True


def to64(t):
    return None if t is None else t.detach().double().cpu()


class Conv2dAddScaleSigmoidGroupNorm:
    name = "conv2d_add_scale_sigmoid_group_norm"
    transposed = False
    # The differentiable tensors in the order of the public op's arguments and of _backward's outputs.
    names = ("input", "conv_weight", "conv_bias", "bias", "scale", "gn_weight", "gn_bias")
    masked = ("input", "conv_weight", "conv_bias")  # what conv_output_mask selects
    op = torch.ops.fusedops.conv2d_add_scale_sigmoid_group_norm
    forward_op = torch.ops.fusedops.conv2d_add_scale_sigmoid_group_norm_forward
    backward_op = torch.ops.fusedops.conv2d_add_scale_sigmoid_group_norm_backward

    def extra_config(self, rng, cfg):
        cfg["bias_shape"] = rng.choice(["C11"] * 4 + ["1C11", "111", "1", "scalar"])
        cfg["scale_shape"] = rng.choice(["C11"] * 4 + ["1C11", "111", "1", "scalar"])

    def weight_shape(self, cfg):
        return (cfg["groups"] * cfg["out_per_group"], cfg["in_per_group"], *cfg["kernel"])

    def extra_inputs(self, cfg, device, dtype):
        c = cfg["groups"] * cfg["out_per_group"]
        return dict(bias=torch.randn(PARAM_SHAPES[cfg["bias_shape"]](c), device=device, dtype=dtype),
                    scale=torch.randn(PARAM_SHAPES[cfg["scale_shape"]](c), device=device, dtype=dtype))

    def args(self, t, cfg):
        return (t["input"], t["conv_weight"], t["conv_bias"], t["bias"], t["scale"], cfg["num_groups"],
                t["gn_weight"], t["gn_bias"], cfg["eps"], list(cfg["stride"]), list(cfg["padding"]),
                list(cfg["dilation"]), cfg["groups"])

    def backward_args(self, grad_out, t, conv_output, cfg, mask):
        return (grad_out, t["input"], t["conv_weight"], conv_output, t["bias"], t["scale"], cfg["num_groups"],
                t["gn_weight"], t["gn_bias"], cfg["eps"], list(cfg["stride"]), list(cfg["padding"]),
                list(cfg["dilation"]), cfg["groups"], mask)

    tail_params = ("bias", "scale")  # broadcast parameters applied after the convolution

    def conv_fn(self, x, w, b, cfg):
        return F.conv2d(x, w, b, cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"])

    def activation(self, conv, p, cfg):
        """What GroupNorm normalizes, from the conv output and the tail parameters p."""
        return torch.sigmoid((conv + p["bias"]) * p["scale"])


class ConvTranspose2dGeluGroupNorm:
    name = "conv_transpose2d_gelu_group_norm"
    transposed = True
    names = ("input", "weight", "bias", "gn_weight", "gn_bias")
    masked = ("input", "weight", "bias")
    op = torch.ops.fusedops.conv_transpose2d_gelu_group_norm
    forward_op = torch.ops.fusedops.conv_transpose2d_gelu_group_norm_forward
    backward_op = torch.ops.fusedops.conv_transpose2d_gelu_group_norm_backward

    def extra_config(self, rng, cfg):
        cfg["approximate"] = rng.choice(["none", "tanh"])

    def weight_shape(self, cfg):
        return (cfg["groups"] * cfg["in_per_group"], cfg["out_per_group"], *cfg["kernel"])

    def extra_inputs(self, cfg, device, dtype):
        return {}

    def args(self, t, cfg):
        return (t["input"], t["weight"], t["bias"], cfg["num_groups"], t["gn_weight"], t["gn_bias"], cfg["eps"],
                cfg["approximate"], list(cfg["stride"]), list(cfg["padding"]), list(cfg["output_padding"]),
                cfg["groups"], list(cfg["dilation"]))

    def backward_args(self, grad_out, t, conv_output, cfg, mask):
        return (grad_out, t["input"], t["weight"], conv_output, cfg["num_groups"], t["gn_weight"], t["gn_bias"],
                cfg["eps"], cfg["approximate"], list(cfg["stride"]), list(cfg["padding"]),
                list(cfg["output_padding"]), cfg["groups"], list(cfg["dilation"]), mask)

    tail_params = ()

    def conv_fn(self, x, w, b, cfg):
        return F.conv_transpose2d(x, w, b, cfg["stride"], cfg["padding"], cfg["output_padding"], cfg["groups"],
                                  cfg["dilation"])

    def activation(self, conv, p, cfg):
        return F.gelu(conv, approximate=cfg["approximate"])


def reference(chain, t, cfg):
    """(output, conv_output) of the float64 composition; t holds float64 CPU tensors."""
    conv = chain.conv_fn(*(t[k] for k in chain.names[:3]), cfg)
    y = chain.activation(conv, t, cfg)
    return gn64(y, cfg["num_groups"], t["gn_weight"], t["gn_bias"], cfg["eps"]), conv


def conditioning(chain, t, cfg):
    """How much the chain amplifies relative rounding errors of its intermediates (the conv output, the
    activation): their size over the spread that GroupNorm divides by, root-mean-square over the groups. About 2-5
    for typical inputs; large when a group's activations are nearly constant (a small scale, a dominant bias)."""
    t64 = {k: to64(v) for k, v in t.items()}
    conv = reference(chain, t64, cfg)[1].requires_grad_()
    y = chain.activation(conv, t64, cfg)
    (dy,) = torch.autograd.grad(y.sum(), conv)  # the activation is elementwise: its derivative
    n, groups = y.shape[0], cfg["num_groups"]
    if n == 0:
        return 1.0
    size = (dy * conv).abs().detach().reshape(n, groups, -1) + y.detach().abs().reshape(n, groups, -1)
    yg = y.detach().reshape(n, groups, -1)
    spread = ((yg - yg.mean(-1, keepdim=True)).pow(2).sum(-1) + yg.shape[-1] * cfg["eps"]).sqrt()
    return (size.norm(dim=-1) / spread).pow(2).mean().sqrt().item()


def chain_tolerance(chain, t, cfg, dtype, device, tf32=None):
    """conftest's tolerance, scaled by the conditioning beyond a typical 2: GroupNorm divides the rounding
    errors of its input by the group's spread."""
    return tolerance(dtype, device, tf32) * max(1.0, conditioning(chain, t, cfg) / 2)


CHAINS = [Conv2dAddScaleSigmoidGroupNorm(), ConvTranspose2dGeluGroupNorm()]
L21, L19 = CHAINS


def chain_id(chain):
    return chain.name


def random_config(rng, chain, batch=None, tiny=False):
    """A random, valid configuration: output sizes >= 1, C_out divisible by num_groups, at least 4 elements in
    each GroupNorm group (smaller groups normalize to near constants, with ~0 gradients) and input reaching
    every GroupNorm group."""
    def pair(lo, hi):
        return rng.randint(lo, hi), rng.randint(lo, hi)
    while True:
        groups = rng.choice([1, 2]) if tiny else rng.choice([1, 1, 2, 3])
        kh = rng.randint(1, 3)
        cfg = dict(
            transposed=chain.transposed,
            batch=(rng.choice([0, 1, 2, 3]) if batch is None else batch) if not tiny else 2,
            groups=groups,
            in_per_group=rng.randint(2, 4) // groups if tiny else rng.randint(1, 4),
            out_per_group=2 // groups * rng.randint(1, 2) if tiny else rng.randint(1, 4),
            kernel=(kh, kh if rng.random() < 0.5 else rng.randint(1, 3)),
            size=(4, 5) if tiny else pair(1, 9),
            stride=pair(1, 2),
            padding=pair(0, 1) if tiny else pair(0, 2),
            dilation=pair(1, 2),
            conv_bias=rng.random() < 0.7,
            gn_weight=rng.random() < 0.7,
            gn_bias=rng.random() < 0.7,
            eps=rng.choice([1e-5, 1e-5, 1e-3, 0.1]),
        )
        cfg["output_padding"] = (tuple(rng.randint(0, max(s, d) - 1) for s, d in zip(cfg["stride"], cfg["dilation"]))
                                 if chain.transposed else (0, 0))
        c_out = groups * cfg["out_per_group"]
        cfg["num_groups"] = 2 if tiny else rng.choice([g for g in range(1, c_out + 1) if c_out % g == 0])
        chain.extra_config(rng, cfg)
        h, w = out_size(cfg)
        if min(h, w) >= 1 and c_out // cfg["num_groups"] * h * w >= 4 and every_row_and_column_sees_input(cfg):
            return cfg


def make_inputs(chain, cfg, device, dtype, requires_grad=False):
    """The chain's tensors by name (None where absent). The convolution weight is scaled by 1/sqrt(fan-in) so
    that the activation is not saturated (a saturated sigmoid has vanishing gradients)."""
    c_out = cfg["groups"] * cfg["out_per_group"]
    fan_in = cfg["in_per_group"] * cfg["kernel"][0] * cfg["kernel"][1]
    t = {chain.names[0]: torch.randn(cfg["batch"], cfg["groups"] * cfg["in_per_group"], *cfg["size"],
                                     device=device, dtype=dtype),
         chain.names[1]: torch.randn(chain.weight_shape(cfg), device=device, dtype=dtype) * fan_in ** -0.5,
         chain.names[2]: torch.randn(c_out, device=device, dtype=dtype) if cfg["conv_bias"] else None,
         "gn_weight": torch.randn(c_out, device=device, dtype=dtype) if cfg["gn_weight"] else None,
         "gn_bias": torch.randn(c_out, device=device, dtype=dtype) if cfg["gn_bias"] else None}
    t.update(chain.extra_inputs(cfg, device, dtype))
    for v in t.values():
        if v is not None:
            v.requires_grad_(requires_grad)
    return t


def reference_grads(chain, t, cfg, grad_out):
    """float64 autograd of the composition w.r.t. every tensor, as name -> (gradient, magnitude). An absent conv
    bias is replaced by zeros (the _backward op returns its gradient whenever the mask asks for it); absent
    GroupNorm affines have no entry. The magnitude is the same sum over the absolute values of its terms: rounding
    errors scale with it, not with the gradient, when the terms cancel (a bias gradient sums GroupNorm's input
    gradient, which sums to zero over each group)."""
    t64 = {k: to64(v) for k, v in t.items()}
    if t64[chain.names[2]] is None:
        t64[chain.names[2]] = torch.zeros(cfg["groups"] * cfg["out_per_group"], dtype=torch.float64)
    present = [k for k in chain.names if t64[k] is not None]
    for k in present:
        t64[k].requires_grad_()
    out, _ = reference(chain, t64, cfg)
    grad64 = to64(grad_out)
    want = dict(zip(present, torch.autograd.grad(out, [t64[k] for k in present], grad64)))
    # Magnitudes: the tail on per-element copies of its parameters, then the convolution's vjp on absolute values.
    conv = chain.conv_fn(*(t64[k].detach() for k in chain.names[:3]), cfg).requires_grad_()
    channel = (1, conv.shape[1]) + (1,) * (conv.dim() - 2)
    full = {k: t64[k].detach().expand_as(conv).clone().requires_grad_() for k in chain.tail_params}
    full.update({k: t64[k].detach().reshape(channel).expand_as(conv).clone().requires_grad_()
                 for k in ("gn_weight", "gn_bias") if t64[k] is not None})
    out = F.group_norm(chain.activation(conv, full, cfg), cfg["num_groups"], None, None, cfg["eps"])
    out = out * full["gn_weight"] if "gn_weight" in full else out
    out = out + full["gn_bias"] if "gn_bias" in full else out
    grads = torch.autograd.grad(out, [conv] + list(full.values()), grad64)
    mags = {k: g.abs().sum_to_size(channel if k.startswith("gn_") else t64[k].shape or (1,)).reshape(t64[k].shape)
            for k, g in zip(full, grads[1:])}
    abs_in = [t64[k].detach().abs().requires_grad_() for k in chain.names[:3]]
    mags.update(zip(chain.names[:3], torch.autograd.grad(chain.conv_fn(*abs_in, cfg), abs_in, grads[0].abs())))
    return {k: (want[k], mags[k]) for k in present}


def assert_gradient_matches(got, want, magnitude, tol, what):
    """got against the float64 gradient: same shape, finite, error norm <= tol * the norm of the magnitude (the
    relative error when the gradient's terms do not cancel)."""
    assert got is not None and got.shape == want.shape, (what, None if got is None else got.shape, want.shape)
    assert torch.isfinite(got).all(), f"{what}: non-finite values"
    err = ((got.double().cpu() - want).norm() / magnitude.norm().clamp_min(1e-30)).item()
    assert err <= tol, f"{what}: error {err:.3e} > {tol:.1e} (relative to the magnitude of its terms)"


def poison(cfg, device):
    if device == "cuda":
        h, w = out_size(cfg)
        poison_cuda_allocator(16 * max(cfg["batch"], 1) * cfg["groups"] * cfg["out_per_group"] * h * w + 65536)


def grad_tolerance(chain, t, cfg, dtype, device):
    """Gradients go through GroupNorm's backward: twice the forward tolerance (with its conditioning)."""
    return 1e-11 if dtype == torch.float64 else 2 * chain_tolerance(chain, t, cfg, dtype, device)


@pytest.mark.parametrize("chain", CHAINS, ids=chain_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_forward_random_shapes(device, chain, dtype, seed):
    """The public op and _forward (output and conv_output) on random shapes, every dtype (half types are
    expected to keep the chain's intermediates in float32)."""
    for _ in range(12):
        cfg = random_config(seed, chain)
        t = make_inputs(chain, cfg, device, dtype)
        ref, ref_conv = reference(chain, {k: to64(v) for k, v in t.items()}, cfg)
        tol = chain_tolerance(chain, t, cfg, dtype, device)
        poison(cfg, device)
        out = chain.op(*chain.args(t, cfg))
        assert out.dtype == dtype and out.device.type == device
        assert_matches_reference(out, ref, tol)
        poison(cfg, device)
        out, conv_out = chain.forward_op(*chain.args(t, cfg))
        assert out.dtype == conv_out.dtype == dtype
        assert_matches_reference(out, ref, tol)
        assert_matches_reference(conv_out, ref_conv, tolerance(dtype, device))


@pytest.mark.parametrize("chain", CHAINS, ids=chain_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_public_op_matches_forward(device, chain, dtype, seed):
    """The public op, under torch.no_grad and when recording a graph, gives _forward's output."""
    for _ in range(2):
        cfg = random_config(seed, chain, batch=2)
        t = make_inputs(chain, cfg, device, dtype, requires_grad=dtype in (torch.float32, torch.float64))
        with torch.no_grad():
            fwd, _ = chain.forward_op(*chain.args(t, cfg))
            out = chain.op(*chain.args(t, cfg))
        assert out.shape == fwd.shape and out.dtype == fwd.dtype
        tol = chain_tolerance(chain, t, cfg, dtype, device)
        assert rel_l2(out, fwd) <= tol
        out = chain.op(*chain.args(t, cfg))
        assert rel_l2(out.detach(), fwd) <= tol


@pytest.mark.parametrize("shape", list(PARAM_SHAPES))
def test_bias_and_scale_shapes(device, shape):
    """L2_21's bias and scale in every accepted shape: forward, and gradients in the parameter's own shape."""
    cfg = dict(transposed=False, batch=2, groups=1, in_per_group=3, out_per_group=6, kernel=(3, 2), size=(7, 6),
               stride=(1, 2), padding=(1, 0), dilation=(1, 1), output_padding=(0, 0), conv_bias=True,
               gn_weight=True, gn_bias=True, eps=1e-5, num_groups=3, bias_shape=shape, scale_shape=shape)
    t = make_inputs(L21, cfg, device, torch.float64, requires_grad=True)
    out = L21.op(*L21.args(t, cfg))
    want = reference_grads(L21, t, cfg, torch.ones_like(out))
    assert_matches_reference(out, reference(L21, {k: to64(v) for k, v in t.items()}, cfg)[0], 1e-12)
    gb, gs = torch.autograd.grad(out.sum(), (t["bias"], t["scale"]))
    assert gb.shape == t["bias"].shape and gs.shape == t["scale"].shape
    assert_gradient_matches(gb, *want["bias"], 1e-11, "bias")
    assert_gradient_matches(gs, *want["scale"], 1e-11, "scale")
    # Mixed shapes: a per-channel bias with a single-value scale and the other way round.
    t["scale"] = torch.randn(PARAM_SHAPES["C11" if shape != "C11" else "scalar"](6), device=device,
                             dtype=torch.float64)
    ref = reference(L21, {k: to64(v) for k, v in t.items()}, cfg)[0]
    assert_matches_reference(L21.op(*L21.args(t, cfg)), ref, 1e-12)


# Float32 sizes for the CUDA fast paths: channel tiles, spatial tails, larger GroupNorm groups.
FAST_PATH_CASES = [
    (L21, dict(transposed=False, batch=2, groups=1, in_per_group=16, out_per_group=32, kernel=(3, 3), size=(20, 23),
               stride=(1, 1), padding=(1, 1), dilation=(1, 1), output_padding=(0, 0), conv_bias=True,
               gn_weight=True, gn_bias=True, eps=1e-5, num_groups=8, bias_shape="C11", scale_shape="C11")),
    (L21, dict(transposed=False, batch=3, groups=2, in_per_group=8, out_per_group=12, kernel=(3, 2), size=(17, 21),
               stride=(2, 1), padding=(0, 1), dilation=(1, 2), output_padding=(0, 0), conv_bias=False,
               gn_weight=True, gn_bias=False, eps=1e-5, num_groups=6, bias_shape="1C11", scale_shape="111")),
    (L19, dict(transposed=True, batch=2, groups=1, in_per_group=16, out_per_group=32, kernel=(3, 3), size=(10, 11),
               stride=(2, 2), padding=(1, 1), dilation=(1, 1), output_padding=(1, 0), conv_bias=True,
               gn_weight=True, gn_bias=True, eps=1e-5, num_groups=8, approximate="none")),
    (L19, dict(transposed=True, batch=2, groups=2, in_per_group=12, out_per_group=10, kernel=(4, 3), size=(9, 13),
               stride=(1, 2), padding=(0, 2), dilation=(2, 1), output_padding=(1, 1), conv_bias=False,
               gn_weight=False, gn_bias=True, eps=1e-5, num_groups=4, approximate="tanh")),
]
FAST_IDS = [f"{c.name}-{i}" for i, (c, _) in enumerate(FAST_PATH_CASES)]


@pytest.mark.parametrize("case", FAST_PATH_CASES, ids=FAST_IDS)
@pytest.mark.parametrize("tf32", [True, False], ids=["tf32", "fp32"])
def test_float32_precision_policy(device, case, tf32, monkeypatch):
    """TF32 only when torch.backends.cudnn.allow_tf32 is on; full float32 accuracy when it is off."""
    chain, cfg = case
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", tf32)
    t = make_inputs(chain, cfg, device, torch.float32)
    ref, ref_conv = reference(chain, {k: to64(v) for k, v in t.items()}, cfg)
    poison(cfg, device)
    out, conv_out = chain.forward_op(*chain.args(t, cfg))
    tol = chain_tolerance(chain, t, cfg, torch.float32, device, tf32)
    assert_matches_reference(out, ref, tol)
    assert_matches_reference(conv_out, ref_conv, tolerance(torch.float32, device, tf32))
    poison(cfg, device)
    assert_matches_reference(chain.op(*chain.args(t, cfg)), ref, tol)


def check_autograd(chain, t, cfg, device, dtype):
    """torch.autograd.grad of the public op w.r.t. every tensor that exists, against float64 autograd."""
    out = chain.op(*chain.args(t, cfg))
    grad_out = torch.randn_like(out)
    present = [k for k in chain.names if t[k] is not None]
    grads = torch.autograd.grad(out, [t[k] for k in present], grad_out)
    want = reference_grads(chain, t, cfg, grad_out)
    tol = grad_tolerance(chain, t, cfg, dtype, device)
    for k, got in zip(present, grads):
        assert got.dtype == dtype and got.shape == t[k].shape, k
        assert_gradient_matches(got, *want[k], tol, f"gradient of {k}")


@pytest.mark.parametrize("chain", CHAINS, ids=chain_id)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gradients_against_reference(device, chain, dtype, seed):
    """Autograd through the public op on random shapes, every differentiable input."""
    for _ in range(4):
        cfg = random_config(seed, chain, batch=seed.choice([1, 2, 3]))
        check_autograd(chain, make_inputs(chain, cfg, device, dtype, requires_grad=True), cfg, device, dtype)


@pytest.mark.parametrize("case", FAST_PATH_CASES, ids=FAST_IDS)
def test_gradients_large_float32(device, case):
    """Larger float32 shapes: the tiled reductions of the weight, bias, scale and GroupNorm gradients."""
    chain, cfg = case
    check_autograd(chain, make_inputs(chain, cfg, device, torch.float32, requires_grad=True), cfg, device,
                   torch.float32)


MASKS = [[True, True, True], [True, False, False], [False, True, False], [False, False, True], [False, False, False],
         [True, True, False]]


@pytest.mark.parametrize("chain", CHAINS, ids=chain_id)
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_backward_op(device, chain, affine, seed):
    """_backward on _forward's conv_output: None exactly where the mask is False or the GroupNorm affine is absent,
    the other gradients equal float64 autograd (the conv bias gradient also when the forward had none)."""
    cfg = random_config(seed, chain, batch=2)
    cfg.update(gn_weight=affine in ("both", "weight"), gn_bias=affine in ("both", "bias"),
               conv_bias=seed.random() < 0.5)
    t = make_inputs(chain, cfg, device, torch.float64)
    _, conv_out = chain.forward_op(*chain.args(t, cfg))
    grad_out = torch.randn(2, cfg["groups"] * cfg["out_per_group"], *out_size(cfg), device=device,
                           dtype=torch.float64)
    want = reference_grads(chain, t, cfg, grad_out)
    for mask in MASKS:
        grads = chain.backward_op(*chain.backward_args(grad_out, t, conv_out, cfg, mask))
        assert len(grads) == len(chain.names)
        for k, got in zip(chain.names, grads):
            expected_none = (k in chain.masked and not mask[chain.masked.index(k)]) or (
                k in ("gn_weight", "gn_bias") and t[k] is None)
            if expected_none:
                assert got is None, (k, mask)
            else:
                assert got is not None and got.dtype == torch.float64 and got.device.type == device, (k, mask)
                assert_gradient_matches(got, *want[k], 1e-11, f"{k} with mask {mask}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("chain", CHAINS, ids=chain_id)
def test_gradcheck(device, chain, seed):
    """float64 gradcheck of the public op on tiny shapes (N = 2, 4x5, groups 1 or 2, num_groups 2)."""
    for _ in range(2):
        cfg = random_config(seed, chain, tiny=True)
        while 2 * cfg["groups"] * cfg["out_per_group"] * math.prod(out_size(cfg)) > 120:  # one backward per element
            cfg = random_config(seed, chain, tiny=True)
        t = make_inputs(chain, cfg, device, torch.float64, requires_grad=True)
        present = [k for k in chain.names if t[k] is not None]

        def fn(*tensors):
            return chain.op(*chain.args(dict(t, **dict(zip(present, tensors))), cfg))
        assert torch.autograd.gradcheck(fn, [t[k] for k in present])


@pytest.mark.parametrize("chain", CHAINS, ids=chain_id)
def test_double_backward_is_refused(device, chain, seed):
    cfg = random_config(seed, chain, batch=2)
    t = make_inputs(chain, cfg, device, torch.float64, requires_grad=True)
    out = chain.op(*chain.args(t, cfg))
    (gx,) = torch.autograd.grad((out * out).sum(), t["input"], create_graph=True)
    with pytest.raises(RuntimeError, match="double backward is not supported"):
        torch.autograd.grad(gx.sum(), t[chain.names[1]])


@pytest.mark.parametrize("chain", CHAINS, ids=chain_id)
@pytest.mark.parametrize("requires_grad", [False, True])
def test_opcheck(device, chain, requires_grad, seed):
    cfg = random_config(seed, chain, batch=2)
    torch.library.opcheck(chain.op, chain.args(make_inputs(chain, cfg, device, torch.float64, requires_grad), cfg))


@pytest.mark.parametrize("chain", CHAINS, ids=chain_id)
def test_opcheck_forward_and_backward(device, chain, seed):
    cfg = random_config(seed, chain, batch=2)
    t = make_inputs(chain, cfg, device, torch.float64)
    torch.library.opcheck(chain.forward_op, chain.args(t, cfg))
    out, conv_out = chain.forward_op(*chain.args(t, cfg))
    grad_out = torch.randn_like(out)
    for mask in ([True, True, True], [False, True, False]):
        torch.library.opcheck(chain.backward_op, chain.backward_args(grad_out, t, conv_out, cfg, mask))


@pytest.mark.parametrize("chain", CHAINS, ids=chain_id)
def test_empty_batch(device, chain, seed):
    """N = 0: empty output and conv_output of the right shapes; zero parameter gradients."""
    cfg = dict(random_config(seed, chain, batch=0), conv_bias=True, gn_weight=True, gn_bias=True)
    t = make_inputs(chain, cfg, device, torch.float32, requires_grad=True)
    c_out = cfg["groups"] * cfg["out_per_group"]
    out = chain.op(*chain.args(t, cfg))
    assert out.shape == (0, c_out, *out_size(cfg))
    fwd, conv_out = chain.forward_op(*chain.args(t, cfg))
    assert fwd.shape == conv_out.shape == out.shape
    grads = torch.autograd.grad(out.sum(), [t[k] for k in chain.names])
    assert grads[0].shape == t["input"].shape
    for k, g in zip(chain.names[1:], grads[1:]):
        assert g.shape == t[k].shape and torch.equal(g, torch.zeros_like(g)), k


@pytest.mark.parametrize("chain", CHAINS, ids=chain_id)
def test_non_contiguous_inputs(device, chain):
    """Sliced/permuted input, weight and parameters, channels_last input; forward and gradients."""
    cfg = dict(transposed=chain.transposed, batch=3, groups=2, in_per_group=3, out_per_group=4, kernel=(3, 2),
               size=(7, 8), stride=(2, 1), padding=(1, 1), dilation=(1, 2), output_padding=(1, 0), conv_bias=True,
               gn_weight=True, gn_bias=True, eps=1e-5, num_groups=4, approximate="tanh", bias_shape="C11",
               scale_shape="1C11")
    t0 = make_inputs(chain, cfg, device, torch.float32)

    def strided(v):  # the same values in a non-contiguous view
        big = torch.zeros(*v.shape, 2, device=device, dtype=v.dtype)
        big[..., 0] = v
        return big[..., 0]
    t = {k: None if v is None else strided(v) for k, v in t0.items()}
    t["input"] = t0["input"].to(memory_format=torch.channels_last)
    assert all(v is None or not v.is_contiguous() for k, v in t.items() if k != "input")
    ref, _ = reference(chain, {k: to64(v) for k, v in t0.items()}, cfg)
    assert_matches_reference(chain.op(*chain.args(t, cfg)), ref, chain_tolerance(chain, t0, cfg, torch.float32, device))
    for v in t.values():
        if v is not None:
            v.requires_grad_()
    out = chain.op(*chain.args(t, cfg))
    present = [k for k in chain.names if t[k] is not None]
    grads = torch.autograd.grad(out.sum(), [t[k] for k in present])  # an expanded grad_output
    want = reference_grads(chain, t0, cfg, torch.ones_like(out))
    for k, got in zip(present, grads):
        assert_gradient_matches(got, *want[k], grad_tolerance(chain, t0, cfg, torch.float32, device), k)


def bad_case(chain, device, **changes):
    """A small valid call of `chain`, with `changes` applied to its tensors (by shape) or its config."""
    cfg = dict(transposed=chain.transposed, batch=2, groups=1, in_per_group=4, out_per_group=6, kernel=(3, 3),
               size=(8, 9), stride=(1, 1), padding=(0, 0), dilation=(1, 1), output_padding=(0, 0), conv_bias=True,
               gn_weight=True, gn_bias=True, eps=1e-5, num_groups=3, approximate="none", bias_shape="C11",
               scale_shape="C11")
    cfg.update({k: v for k, v in changes.items() if k in cfg})
    t = make_inputs(chain, cfg, device, torch.float32)
    for k, shape in changes.items():
        if k in t:
            t[k] = torch.randn(shape, device=device)
    return chain.args(t, cfg)


BAD_INPUTS = [
    # (description, chain, changes, match)
    ("bias of shape (C,)", L21, dict(bias=(6,)), "bias"),
    ("scale of shape (C,)", L21, dict(scale=(6,)), "scale"),
    ("bias of the wrong channel count", L21, dict(bias=(5, 1, 1)), "bias"),
    ("bias varying over H", L21, dict(bias=(6, 6, 1)), "bias"),
    ("C_out not divisible by num_groups", L21, dict(num_groups=4), "divisible by num_groups"),
    ("num_groups < 1", L21, dict(num_groups=0), "num_groups"),
    ("gn_weight of the wrong size", L21, dict(gn_weight=(5,)), "weight"),
    ("conv input of the wrong rank", L21, dict(input=(2, 4, 8)), "must be 4-D"),
    ("conv stride < 1", L21, dict(stride=(0, 1)), "stride must be >= 1"),
    ("conv output size <= 0", L21, dict(size=(2, 9)), "output size"),
    ("conv_bias of the wrong size", L21, dict(conv_bias=(5,)), "bias"),
    ("unknown approximate", L19, dict(approximate="exact"), "approximate"),
    ("C_out not divisible by num_groups", L19, dict(num_groups=4), "divisible by num_groups"),
    ("gn_bias of the wrong size", L19, dict(gn_bias=(7,)), "bias"),
    ("output_padding too large", L19, dict(stride=(2, 2), output_padding=(0, 2)), "output_padding"),
    ("weight does not match in_channels", L19, dict(weight=(5, 6, 3, 3)), "weight"),
    ("conv dilation < 1", L19, dict(dilation=(1, 0)), "dilation must be >= 1"),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[f"{c[1].name}-{c[0]}" for c in BAD_INPUTS])
def test_bad_input(device, case):
    _, chain, changes, match = case
    args = bad_case(chain, device, **changes)
    with pytest.raises(RuntimeError, match=match):
        chain.op(*args)
    with pytest.raises(RuntimeError, match=match):
        chain.forward_op(*args)


@pytest.mark.parametrize("chain", CHAINS, ids=chain_id)
def test_bad_dtypes_and_devices(device, chain):
    args = list(bad_case(chain, device))
    for i in [i for i, a in enumerate(args) if isinstance(a, torch.Tensor)][1:]:
        bad = list(args)
        bad[i] = args[i].double()
        with pytest.raises(RuntimeError, match="dtype"):
            chain.op(*bad)
    bad = [a.int() if isinstance(a, torch.Tensor) else a for a in args]
    with pytest.raises(RuntimeError, match="must be float16, bfloat16, float32 or float64"):
        chain.op(*bad)
    if torch.cuda.is_available():
        other = "cpu" if device == "cuda" else "cuda"
        for i in [i for i, a in enumerate(args) if isinstance(a, torch.Tensor)][1:]:
            bad = list(args)
            bad[i] = args[i].to(other)
            with pytest.raises(RuntimeError, match="same device"):
                chain.op(*bad)
