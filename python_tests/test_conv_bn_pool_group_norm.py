"""The fused L2_11 chain, conv_transpose2d_batch_norm_tanh_max_pool_group_norm, against its float64
torch.nn.functional composition: group_norm(max_pool2d(tanh(batch_norm(conv_transpose2d(x))))), in training mode
(batch statistics, running statistics updated) and in eval mode (running statistics), as the public op, its _forward
and _backward, with autograd through the public op."""
import pytest
import torch
import torch.nn.functional as F

from conftest import DEVICES, FLOAT_DTYPES, assert_matches_reference, poison_cuda_allocator, rel_l2, tolerance

op = torch.ops.fusedops.conv_transpose2d_batch_norm_tanh_max_pool_group_norm
forward_op = torch.ops.fusedops.conv_transpose2d_batch_norm_tanh_max_pool_group_norm_forward
backward_op = torch.ops.fusedops.conv_transpose2d_batch_norm_tanh_max_pool_group_norm_backward
PARAMS = ("input", "weight", "bias", "bn_weight", "bn_bias", "gn_weight", "gn_bias")  # differentiable, in op order


def conv_size(cfg, i):
    return ((cfg["size"][i] - 1) * cfg["stride"][i] - 2 * cfg["padding"][i] + cfg["dilation"][i] * (cfg["kernel"][i] - 1)
            + cfg["output_padding"][i] + 1)


def random_config(rng, batch=None, tiny=False):
    """A valid configuration: a conv output at least as large as the pool window, C divisible by num_groups, at least
    4 pooled values per GroupNorm group."""
    while True:
        groups = rng.choice([1, 1, 2, 3])
        pk = (rng.randint(1, 3), rng.randint(1, 3))
        cfg = dict(
            batch=rng.choice([1, 2, 3]) if batch is None else batch,
            groups=groups, in_per_group=rng.randint(1, 3), out_per_group=rng.randint(1, 4),
            kernel=(rng.randint(1, 4), rng.randint(1, 4)), size=(rng.randint(1, 8), rng.randint(1, 8)),
            stride=(rng.randint(1, 3), rng.randint(1, 3)), padding=(rng.randint(0, 2), rng.randint(0, 2)),
            dilation=(rng.randint(1, 2), rng.randint(1, 2)),
            pool_kernel=pk, pool_stride=rng.choice([pk, pk, (2, 2), (1, 2), (3, 1)]),
            conv_bias=rng.random() < 0.7, bn_affine=rng.random() < 0.8, gn_weight=rng.random() < 0.7,
            gn_bias=rng.random() < 0.7, running=rng.random() < 0.8, momentum=rng.choice([0.1, 0.5, 1.0]),
            bn_eps=rng.choice([1e-5, 1e-3]), gn_eps=rng.choice([1e-5, 1e-3]))
        if tiny:
            cfg.update(batch=2, groups=1, in_per_group=2, out_per_group=2, size=(3, 4), kernel=(2, 2), dilation=(1, 1),
                       stride=(1, 1), padding=(0, 0), pool_kernel=(2, 2), pool_stride=(1, 2))
        cfg["output_padding"] = tuple(rng.randint(0, max(s, d) - 1) for s, d in zip(cfg["stride"], cfg["dilation"]))
        c_out = cfg["groups"] * cfg["out_per_group"]
        cfg["num_groups"] = rng.choice([g for g in range(1, c_out + 1) if c_out % g == 0])
        h, w = conv_size(cfg, 0), conv_size(cfg, 1)
        if min(h - pk[0], w - pk[1]) < 0 or cfg["batch"] * h * w < 2:
            continue
        pooled = ((h - pk[0]) // cfg["pool_stride"][0] + 1) * ((w - pk[1]) // cfg["pool_stride"][1] + 1)
        if c_out // cfg["num_groups"] * pooled >= 4:
            return cfg


def make_inputs(cfg, device, dtype, requires_grad=False):
    """Tensors by name (None where absent). The weight is scaled by 1/sqrt(fan-in); BatchNorm's weight is kept near 1
    so that tanh is not saturated (a saturated tanh has vanishing gradients)."""
    c_out, c_in = cfg["groups"] * cfg["out_per_group"], cfg["groups"] * cfg["in_per_group"]
    fan_in = cfg["in_per_group"] * cfg["kernel"][0] * cfg["kernel"][1]
    rand = lambda *s: torch.randn(*s, device=device, dtype=dtype)  # noqa: E731
    t = dict(input=rand(cfg["batch"], c_in, *cfg["size"]),
             weight=rand(c_in, cfg["out_per_group"], *cfg["kernel"]) * fan_in ** -0.5,
             bias=rand(c_out) if cfg["conv_bias"] else None,
             bn_weight=1 + 0.5 * rand(c_out) if cfg["bn_affine"] else None,
             bn_bias=0.5 * rand(c_out) if cfg["bn_affine"] else None,
             gn_weight=rand(c_out) if cfg["gn_weight"] else None,
             gn_bias=rand(c_out) if cfg["gn_bias"] else None)
    for v in t.values():
        if v is not None:
            v.requires_grad_(requires_grad)
    running = cfg["running"] or not cfg.get("training", True)
    t["running_mean"] = rand(c_out) if running else None
    t["running_var"] = torch.rand(c_out, device=device, dtype=dtype) + 0.5 if running else None
    return t


def args(t, cfg, training):
    return (t["input"], t["weight"], t["bias"], t["bn_weight"], t["bn_bias"], t["running_mean"], t["running_var"],
            training, cfg["momentum"], cfg["bn_eps"], list(cfg["pool_kernel"]), list(cfg["pool_stride"]),
            cfg["num_groups"], t["gn_weight"], t["gn_bias"], cfg["gn_eps"], list(cfg["stride"]), list(cfg["padding"]),
            list(cfg["output_padding"]), cfg["groups"], list(cfg["dilation"]))


def backward_args(grad_out, t, conv_out, mean, invstd, cfg, training, mask):
    return (grad_out, t["input"], t["weight"], conv_out, mean, invstd, t["bn_weight"], t["bn_bias"], training,
            list(cfg["pool_kernel"]), list(cfg["pool_stride"]), cfg["num_groups"], t["gn_weight"], t["gn_bias"],
            cfg["gn_eps"], list(cfg["stride"]), list(cfg["padding"]), list(cfg["output_padding"]), cfg["groups"],
            list(cfg["dilation"]), mask)


def to64(t):
    return None if t is None else t.detach().double().cpu()


def reference(t, cfg, training, intermediates=None):
    """(output, conv_output) of the float64 composition on float64 CPU copies; t's running statistics (float64) are
    updated as F.batch_norm updates them. `intermediates` (a dict), when given, receives BatchNorm's output z and the pooled p."""
    conv = F.conv_transpose2d(t["input"], t["weight"], t["bias"], cfg["stride"], cfg["padding"], cfg["output_padding"],
                              cfg["groups"], cfg["dilation"])
    z = F.batch_norm(conv, t["running_mean"], t["running_var"], t["bn_weight"], t["bn_bias"], training,
                     cfg["momentum"], cfg["bn_eps"])
    p = F.max_pool2d(torch.tanh(z), cfg["pool_kernel"], cfg["pool_stride"])
    if intermediates is not None:
        intermediates.update(z=z, p=p)
    gn_w = t["gn_weight"]
    if gn_w is None and t["gn_bias"] is not None:  # PyTorch's CPU backward needs a weight with a bias
        gn_w = torch.ones(p.shape[1], dtype=p.dtype)
    return F.group_norm(p, cfg["num_groups"], gn_w, t["gn_bias"], cfg["gn_eps"]), conv


def copy64(t):
    return {k: to64(v) for k, v in t.items()}


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_forward_random_shapes(device, dtype, training, seed):
    if device == "cpu" and dtype in (torch.float16, torch.bfloat16):
        pytest.skip("half types run on CUDA")
    for _ in range(6):
        cfg = random_config(seed)
        t = make_inputs(cfg, device, dtype)
        if not training and t["running_mean"] is None:
            continue
        t64, inter = copy64(t), {}
        ref, _ = reference(t64, cfg, training, inter)
        if inter["p"].reshape(cfg["batch"], cfg["num_groups"], -1).std(-1, unbiased=False).min() == 0:
            # Windows that only see padding can leave a GroupNorm group constant: it normalizes rounding noise, and
            # any output is as right as another.
            continue
        poison_cuda_allocator(ref.numel() * 8)
        out = op(*args(t, cfg, training))
        assert_matches_reference(out, ref, 4 * tolerance(dtype, device))
        if t["running_mean"] is not None:  # updated in place in training, untouched in eval
            assert_matches_reference(t["running_mean"], t64["running_mean"], 4 * tolerance(dtype, device))
            assert_matches_reference(t["running_var"], t64["running_var"], 4 * tolerance(dtype, device))


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_forward_large_groups(device, training, seed):
    """Groups of over 12288 pooled float32 values: the CUDA forward recomputes the pooled values for the write pass
    instead of keeping them in shared memory (smaller groups, the other tests)."""
    cfg = random_config(seed, batch=2)
    cfg.update(groups=1, in_per_group=3, out_per_group=4, num_groups=1, size=(80, 70), kernel=(3, 2),
               stride=(1, 1), padding=(1, 0), output_padding=(0, 0), dilation=(1, 1), pool_kernel=(1, 2),
               pool_stride=(1, 1), running=True)  # 4 channels x 80 x 70 pooled values per group
    t = make_inputs(cfg, device, torch.float32)
    t64 = copy64(t)
    ref, _ = reference(t64, cfg, training)
    poison_cuda_allocator(ref.numel() * 8)
    assert_matches_reference(op(*args(t, cfg, training)), ref, 4 * tolerance(torch.float32, device))


def test_forward_group_at_the_cache_limit(device, seed):
    """A group of exactly 48 KB of float32 pooled values (12 channels x 32 x 32): the CUDA forward must not ask for
    more shared memory than a block gets (its cache plus the block reduction's) and recomputes instead."""
    cfg = random_config(seed, batch=1)
    cfg.update(groups=1, in_per_group=2, out_per_group=24, num_groups=2, size=(62, 62), kernel=(3, 3), stride=(1, 1),
               padding=(0, 0), output_padding=(0, 0), dilation=(1, 1), pool_kernel=(2, 2), pool_stride=(2, 2),
               running=True)
    t = make_inputs(cfg, device, torch.float32)
    ref, _ = reference(copy64(t), cfg, False)
    assert_matches_reference(op(*args(t, cfg, False)), ref, 4 * tolerance(torch.float32, device))


def test_nan_propagates_like_pytorch(device, seed):
    """A NaN input reaches the max-pool windows over its convolution footprint: NaN wins a window (PyTorch's max_pool2d)
    and then its GroupNorm groups; in eval mode the other samples stay finite."""
    cfg = random_config(seed, batch=3)
    cfg.update(groups=1, in_per_group=2, out_per_group=4, num_groups=2, size=(9, 8), kernel=(3, 3), stride=(1, 1),
               padding=(1, 1), output_padding=(0, 0), dilation=(1, 1), pool_kernel=(2, 2), pool_stride=(2, 2),
               running=True)
    t = make_inputs(cfg, device, torch.float32)
    t["input"][1, 0, 4, 3] = float("nan")
    ref, _ = reference(copy64(t), cfg, False)
    out = op(*args(t, cfg, False))
    assert ref.isnan().any() and not ref.isnan().all()
    assert torch.equal(out.isnan().cpu(), ref.isnan())


@pytest.mark.parametrize("out_channels", [8, 130])
@pytest.mark.parametrize("tf32", [True, False], ids=["tf32", "fp32"])
def test_batch_statistics_from_convolution_tiles(device, out_channels, tf32, seed, monkeypatch):
    """Float32 at unit stride on CUDA: the batch statistics are merged from the moments that the tensor-core
    convolution leaves per pixel tile (tiles of 512 and 128 pixels here, the last one partial), not read again."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", tf32)
    cfg = random_config(seed, batch=3)
    cfg.update(groups=1, in_per_group=4, out_per_group=out_channels, num_groups=2, size=(20, 30), kernel=(3, 3),
               stride=(1, 1), padding=(1, 1), output_padding=(0, 0), dilation=(1, 1), pool_kernel=(2, 2),
               pool_stride=(2, 2), running=True, conv_bias=True)
    t = make_inputs(cfg, device, torch.float32)
    t64 = copy64(t)
    ref, _ = reference(t64, cfg, True)
    poison_cuda_allocator(ref.numel() * 8)
    tol = 4 * tolerance(torch.float32, device, tf32)
    assert_matches_reference(op(*args(t, cfg, True)), ref, tol)
    assert_matches_reference(t["running_mean"], t64["running_mean"], tol)
    assert_matches_reference(t["running_var"], t64["running_var"], tol)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_forward_op_outputs(device, training, seed):
    """_forward: the same output, the convolution's output and the statistics that normalized it."""
    cfg = random_config(seed)
    cfg["running"] = True
    t = make_inputs(cfg, device, torch.float64)
    t64 = copy64(t)
    out, conv, mean, invstd = forward_op(*args(t, cfg, training))
    ref, ref_conv = reference(t64, cfg, training)
    assert_matches_reference(out, ref, 1e-12)
    assert_matches_reference(conv, ref_conv, 1e-12)
    if training:
        var = ref_conv.var((0, 2, 3), unbiased=False)
        assert_matches_reference(mean, ref_conv.mean((0, 2, 3)), 1e-12)
    else:
        var, _ = to64(t["running_var"]), assert_matches_reference(mean, to64(t["running_mean"]), 1e-12)
    assert_matches_reference(invstd, (var + cfg["bn_eps"]).rsqrt(), 1e-12)


def gradient_magnitudes(t64, conv, inter, grad_out, cfg, training):
    """For each gradient, the norm of the sums of the absolute values of the terms that make it up, through every
    step of the chain: rounding errors scale with them, not with the gradients, when the terms cancel (BatchNorm's
    input gradient sums to zero over each channel; a GroupNorm group of two distinct values makes the output
    independent of everything before it)."""
    z, p = inter["z"].detach(), inter["p"].detach()
    n, groups = p.shape[0], cfg["num_groups"]
    pg = p.reshape(n, groups, -1)
    rstd = (pg.var(-1, unbiased=False, keepdim=True) + cfg["gn_eps"]).rsqrt()
    phat = ((pg.abs() + pg.mean(-1, keepdim=True).abs()) * rstd).reshape(p.shape)  # the terms of (p - mean) * rstd
    gamma = t64["gn_weight"].detach().abs().reshape(1, -1, 1, 1) if t64["gn_weight"] is not None else 1
    dy = grad_out.abs()
    gdy = (gamma * dy).reshape(n, groups, -1)
    dp = rstd * (gdy + gdy.mean(-1, keepdim=True)
                 + phat.reshape(n, groups, -1) * (gdy * phat.reshape(n, groups, -1)).mean(-1, keepdim=True))
    _, where = F.max_pool2d(torch.tanh(z), cfg["pool_kernel"], cfg["pool_stride"], return_indices=True)
    dz = torch.zeros_like(z).flatten(2).scatter_add_(2, where.flatten(2), (dp.reshape(p.shape) * (1 - p * p)).flatten(2))
    dz = dz.reshape(z.shape)
    if training:
        mean, var = conv.mean((0, 2, 3), keepdim=True), conv.var((0, 2, 3), unbiased=False, keepdim=True)
    else:
        mean, var = (t64[k].reshape(1, -1, 1, 1) for k in ("running_mean", "running_var"))
    invstd = (var + cfg["bn_eps"]).rsqrt()
    xhat = ((conv.detach() - mean) * invstd).abs()
    bn_w = t64["bn_weight"].detach().abs().reshape(1, -1, 1, 1) if t64["bn_weight"] is not None else 1
    dc = dz
    if training:
        dc = dc + dz.mean((0, 2, 3), keepdim=True) + xhat * (dz * xhat).mean((0, 2, 3), keepdim=True)
    dc = bn_w * invstd * dc
    x_abs, w_abs = t64["input"].detach().abs().requires_grad_(), t64["weight"].detach().abs().requires_grad_()
    c_abs = F.conv_transpose2d(x_abs, w_abs, None, cfg["stride"], cfg["padding"], cfg["output_padding"],
                               cfg["groups"], cfg["dilation"])
    mag_x, mag_w = torch.autograd.grad(c_abs, [x_abs, w_abs], dc)
    per_channel = lambda v: v.sum((0, 2, 3)).norm().item()  # noqa: E731
    return {"input": mag_x.norm().item(), "weight": mag_w.norm().item(), "bias": per_channel(dc),
            "bn_weight": per_channel(dz * xhat), "bn_bias": per_channel(dz), "gn_weight": per_channel(dy * phat),
            "gn_bias": per_channel(dy)}


def check_gradients(t, cfg, training, dtype, device):
    t64 = copy64(t)
    if t64["bias"] is None:
        t64["bias"] = torch.zeros(cfg["groups"] * cfg["out_per_group"], dtype=torch.float64)
    present = [k for k in PARAMS if t64[k] is not None]
    for k in present:
        t64[k].requires_grad_()
    inter = {}
    ref, conv = reference(t64, cfg, training, inter)
    grad_out = torch.randn(ref.shape, dtype=torch.float64)
    ref.backward(grad_out)
    magnitudes = gradient_magnitudes(t64, conv, inter, grad_out, cfg, training)
    out = op(*args(t, cfg, training))
    mine = [k for k in PARAMS if t[k] is not None]
    grads = torch.autograd.grad(out, [t[k] for k in mine], grad_out.to(device, dtype))
    tol = 10 * tolerance(dtype, device, tf32=False)
    for k, g in zip(mine, grads):
        want = t64[k].grad
        assert torch.isfinite(g).all(), k
        err = (g.double().cpu() - want).norm().item()
        assert err <= tol * max(want.norm().item(), magnitudes[k]), (k, err, want.norm().item(), magnitudes[k])


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_gradients_against_reference(device, dtype, training, seed, monkeypatch):
    # TF32 would move the max-pool's choices where two window values nearly tie: a gradient test needs full float32.
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    for _ in range(4):
        cfg = random_config(seed)
        cfg["running"] = True
        check_gradients(make_inputs(cfg, device, dtype, requires_grad=True), cfg, training, dtype, device)


def test_max_pool_ties_pick_the_first_maximum(device, seed):
    """Windows of equal values (integer inputs through a 1x1 convolution): the gradient goes to the first maximum in
    row-major order, as in PyTorch's max_pool2d."""
    cfg = random_config(seed)
    cfg.update(batch=2, groups=1, in_per_group=1, out_per_group=3, kernel=(1, 1), size=(7, 6), stride=(1, 1),
               padding=(0, 0), dilation=(1, 1), output_padding=(0, 0), num_groups=3, pool_kernel=(2, 2),
               pool_stride=(2, 2), running=True)
    t = make_inputs(cfg, device, torch.float64, requires_grad=True)
    with torch.no_grad():
        t["input"].copy_(torch.randint(0, 3, t["input"].shape))
    check_gradients(t, cfg, True, torch.float64, device)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_backward_op(device, training, seed):
    """_backward with every conv_output_mask: the masked gradients undefined, the others as the reference's."""
    cfg = random_config(seed)
    cfg.update(running=True, conv_bias=True, bn_affine=True, gn_weight=True, gn_bias=True)
    t = make_inputs(cfg, device, torch.float64)
    _, conv, mean, invstd = forward_op(*args(t, cfg, training))
    grad_out = torch.randn_like(op(*args(make_inputs(cfg, device, torch.float64), cfg, False)))
    full = backward_op(*backward_args(grad_out, t, conv, mean, invstd, cfg, training, [True, True, True]))
    for mask in ([False, False, False], [True, False, True], [False, True, False]):
        part = backward_op(*backward_args(grad_out, t, conv, mean, invstd, cfg, training, mask))
        for i, wanted in enumerate(mask):
            assert (part[i] is not None) == wanted
        for a, b in zip(part[3:], full[3:]):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_gradcheck(device, seed):
    cfg = random_config(seed, tiny=True)
    cfg.update(running=True, conv_bias=True, bn_affine=True, gn_weight=True, gn_bias=True)
    for training in (True, False):
        t = make_inputs(cfg, device, torch.float64, requires_grad=True)
        saved = {k: t[k] for k in ("running_mean", "running_var")}

        def fn(*tensors):
            u = dict(zip(PARAMS, tensors))
            u.update({k: v.clone() for k, v in saved.items()})  # each call starts from the same running statistics
            return op(*args(u, cfg, training))

        assert torch.autograd.gradcheck(fn, [t[k] for k in PARAMS])


def test_double_backward_is_refused(device, seed):
    cfg = random_config(seed, tiny=True)
    t = make_inputs(cfg, device, torch.float64, requires_grad=True)
    out = op(*args(t, cfg, True))
    (g,) = torch.autograd.grad(out.square().sum(), t["input"], create_graph=True)
    with pytest.raises(RuntimeError, match="double backward is not supported"):
        g.sum().backward()


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("requires_grad", [False, True], ids=["no_grad", "grad"])
def test_opcheck(device, training, requires_grad, seed):
    cfg = random_config(seed, tiny=True)
    cfg["running"] = True
    t = make_inputs(cfg, device, torch.float64, requires_grad)
    torch.library.opcheck(op, args(t, cfg, training))
    torch.library.opcheck(forward_op, args(make_inputs(cfg, device, torch.float64), cfg, training))


def test_opcheck_backward(device, seed):
    cfg = random_config(seed, tiny=True)
    t = make_inputs(cfg, device, torch.float64)
    out, conv, mean, invstd = forward_op(*args(t, cfg, True))
    for mask in ([True, True, True], [False, True, False]):
        torch.library.opcheck(backward_op,
                              backward_args(torch.randn_like(out), t, conv, mean, invstd, cfg, True, mask))


def test_empty_batch(device, seed):
    cfg = random_config(seed)
    cfg.update(batch=0, running=True)
    t = make_inputs(cfg, device, torch.float32, requires_grad=True)
    before = t["running_mean"].clone(), t["running_var"].clone()
    out = op(*args(t, cfg, True))
    assert out.shape[0] == 0 and out.shape[1] == cfg["groups"] * cfg["out_per_group"]
    assert torch.equal(t["running_mean"], before[0]) and torch.equal(t["running_var"], before[1])
    out.sum().backward()
    assert t["input"].grad.shape == t["input"].shape


def test_non_contiguous_inputs(device, seed):
    cfg = random_config(seed)
    cfg["running"] = True
    t = make_inputs(cfg, device, torch.float64)
    t64 = copy64(t)
    t["input"] = t["input"].transpose(2, 3).contiguous().transpose(2, 3)
    t["weight"] = t["weight"].transpose(0, 1).contiguous().transpose(0, 1)
    assert_matches_reference(op(*args(t, cfg, True)), reference(t64, cfg, True)[0], 1e-12)


def test_running_stats_of_a_strided_view(device, seed):
    """Running statistics given as strided views are updated in place, through the view."""
    cfg = random_config(seed)
    cfg["running"] = True
    t = make_inputs(cfg, device, torch.float64)
    t64 = copy64(t)
    c = t["running_mean"].numel()
    base = torch.zeros(2, c, 2, dtype=torch.float64, device=device)
    base[0, :, 1], base[1, :, 0] = t["running_mean"], t["running_var"]
    t["running_mean"], t["running_var"] = base[0, :, 1], base[1, :, 0]
    op(*args(t, cfg, True))
    reference(t64, cfg, True)
    assert_matches_reference(base[0, :, 1], t64["running_mean"], 1e-12)
    assert_matches_reference(base[1, :, 0], t64["running_var"], 1e-12)


BAD_INPUTS = {
    "num_groups": (dict(num_groups=5), "divisible by num_groups"),
    "running_mean_size": (dict(running_mean_size=3), "running_mean must have shape"),
    "running_alone": (dict(running_var=None), "must be given together"),
    "eval_without_running": (dict(training=False, running=None), "required when training is false"),
    "pool_too_large": (dict(pool_kernel=[20, 2]), "max-pool kernel"),
    "pool_kernel_zero": (dict(pool_kernel=[0, 2]), "pool_kernel must be >= 1"),
    "pool_stride_zero": (dict(pool_stride=[2, 0]), "pool_stride must be >= 1"),
    "one_value_per_channel": (dict(one_value=True), "more than 1 value per channel"),
    "running_dtype": (dict(running_dtype=torch.float32), "running_mean has dtype"),
    "bn_weight_size": (dict(bn_weight_size=5), "bn_weight must have shape"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input(device, case):
    change, message = BAD_INPUTS[case]
    x = torch.randn(2, 4, 5, 5, device=device, dtype=torch.float64)
    w = torch.randn(4, 6, 3, 3, device=device, dtype=torch.float64)
    c = 6
    rm = torch.zeros(change.get("running_mean_size", c), device=device, dtype=change.get("running_dtype", x.dtype))
    rv = torch.ones(c, device=device, dtype=x.dtype)
    if change.get("one_value"):
        x, w = x[:1, :, :1, :1], w[:, :, :1, :1]
    bn_w = torch.ones(change.get("bn_weight_size", c), device=device, dtype=x.dtype)
    running = change.get("running", 1)
    with pytest.raises(RuntimeError, match=message):
        op(x, w, None, bn_w, None, rm if running else None, change.get("running_var", rv) if running else None,
           change.get("training", True), 0.1, 1e-5, change.get("pool_kernel", [2, 2] if not change.get("one_value")
                                                              else [1, 1]),
           change.get("pool_stride", [2, 2]), change.get("num_groups", 3), None, None, 1e-5, [1, 1], [0, 0], [0, 0],
           1, [1, 1])
