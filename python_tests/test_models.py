"""Every ModelNew against its Model: same parameters and state_dict, same function, in every context
(eager, torch.compile static/dynamic and a compiled training step, CUDA graphs, torch.export +
AOTInductor, TorchScript)."""
import copy
import importlib.util
from pathlib import Path

import pytest
import torch

import fusedops.models
from conftest import DEVICES, assert_matches_reference, rel_l2, tolerance

PROBLEMS = fusedops.models.problems()
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "problems.py"
# Small sizes for the contexts that compile (the SMALL set where a problem has one).
TEST_SIZES = {
    "add": ([], [(33, 65), (65,)]),  # broadcasting, odd sizes
    "L1_64": ([16, 24, 3], [(2, 16, 45)]),
    "L1_74": ([6, 10, 5, 1, 0, 3], [(2, 6, 37)]),
    "L1_79": ([8, 12, 3, 2, 1, 2], [(2, 8, 29)]),
    "L2_11": ([8, 16, 3, 2, 1, 8, 4], [(2, 8, 9, 7)]),  # stride 2, padding 1, odd H and W, max-pool floor mode
    "L2_19": ([8, 16, 3, 2, 4, 4], [(2, 8, 9, 7)]),  # groups 4, num_groups 4, stride 2, odd H and W
    "L2_21": ([3, 16, 3, 8, (16, 1, 1), (16, 1, 1)], [(2, 3, 11, 13)]),
}


def build(problem, device, init_args=None, seed=0):
    module, shapes = PROBLEMS[problem]
    init_args = TEST_SIZES[problem][0] if init_args is None else init_args
    model, model_new = fusedops.models.build_models(module, init_args, seed)
    return model.to(device), model_new.to(device)


def inputs(problem, device, dtype=torch.float32):
    return [torch.rand(s, device=device, dtype=dtype) for s in TEST_SIZES[problem][1]]


def check_same_function(model_new, model, args, device):
    out = model_new(*args)
    with torch.no_grad():
        ref = copy.deepcopy(model).double()(*[a.double() for a in args])
    assert_matches_reference(out, ref, tolerance(args[0].dtype, device))


@pytest.mark.parametrize("problem", PROBLEMS)
def test_parameters_and_state_dict_match(problem):
    model, model_new = build(problem, "cpu", PROBLEMS[problem][1]["SMALL" if "SMALL" in PROBLEMS[problem][1] else "KB"][0])
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in model_new.named_parameters()]
    sd, sd_new = model.state_dict(), model_new.state_dict()
    assert sd.keys() == sd_new.keys() and all(torch.equal(sd[k], sd_new[k]) for k in sd)
    # load_state_dict both ways
    model_new.load_state_dict({k: torch.randn_like(v) if v.is_floating_point() else v + 3 for k, v in sd.items()})
    model.load_state_dict(model_new.state_dict())


@pytest.mark.skipif(not REFERENCE.exists(), reason="shared/reference/problems.py is not beside the checkout")
@pytest.mark.parametrize("problem", PROBLEMS)
def test_model_is_the_reference_problem(problem):
    """The package's Model and sizes are shared/reference/problems.py's, parameter for parameter."""
    spec = importlib.util.spec_from_file_location("reference_problems", REFERENCE)
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    name = next(k for k in reference.KB_SHAPES if k == problem or k.startswith(problem + "_"))
    for table, shapes in ((reference.KB_SHAPES, "KB"), (reference.SMALL_SHAPES, "SMALL")):
        if name not in table:
            continue
        ref_cls, ref_init, ref_inputs = table[name]
        init_args, input_shapes = PROBLEMS[problem][1][shapes]
        assert list(init_args) == list(ref_init) and [tuple(s) for s in input_shapes] == [tuple(s) for s in ref_inputs]
    ref_cls, _, _ = reference.KB_SHAPES[name]
    init_args = TEST_SIZES[problem][0]
    torch.manual_seed(1)
    ref_model = ref_cls(*init_args)
    model, model_new = build(problem, "cpu", seed=1)
    for ours in (model, model_new):
        assert ours.state_dict().keys() == ref_model.state_dict().keys()
        assert all(torch.equal(ours.state_dict()[k], v) for k, v in ref_model.state_dict().items())
    x = inputs(problem, "cpu")
    assert_matches_reference(model_new(*x), ref_model.double()(*[a.double() for a in x]), 2e-5)


def assert_same_buffers(model_new, model, tol):
    for (name, b), (_, b_new) in zip(model.named_buffers(), model_new.named_buffers()):
        assert rel_l2(b_new, b) <= tol if b.is_floating_point() else torch.equal(b_new.cpu(), b.cpu()), name


@pytest.mark.parametrize("momentum", [0.1, None], ids=["momentum", "cumulative"])
def test_batch_norm_train_then_eval(device, momentum):
    """L2_11 in training mode updates running_mean, running_var and num_batches_tracked as nn.BatchNorm2d does
    (exponential or, with momentum None, cumulative average); in eval mode they normalize, unchanged."""
    model, model_new = build("L2_11", device)
    model_new.batch_norm.momentum = model.batch_norm.momentum = momentum
    model = model.double()
    for _ in range(3):
        x = inputs("L2_11", device)
        assert_matches_reference(model_new(*x), model(*[a.double() for a in x]), tolerance(torch.float32, device))
    assert_same_buffers(model_new, model, tolerance(torch.float32, device))
    model.eval(), model_new.eval()
    for _ in range(2):
        check_same_function(model_new, model, inputs("L2_11", device), device)
    assert_same_buffers(model_new, model, tolerance(torch.float32, device))


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batch_norm_compile_and_export(device, training, tmp_path):
    """L2_11's in-place running-statistics update under torch.compile (fullgraph) and torch.export + AOTInductor."""
    torch._dynamo.reset()
    model, model_new = build("L2_11", device)
    model.train(training), model_new.train(training)
    model = model.double()
    compiled = torch.compile(model_new, fullgraph=True)
    for _ in range(2):
        x = inputs("L2_11", device)
        assert_matches_reference(compiled(*x), model(*[a.double() for a in x]), tolerance(torch.float32, device))
    assert_same_buffers(model_new, model, tolerance(torch.float32, device))
    exported = torch.export.export(model_new, tuple(inputs("L2_11", device)))
    runner = torch._inductor.aoti_load_package(
        torch._inductor.aoti_compile_and_package(exported, package_path=str(tmp_path / "model.pt2")))
    x = inputs("L2_11", device)
    assert_matches_reference(runner(*x), model(*[a.double() for a in x]), tolerance(torch.float32, device))


@pytest.mark.parametrize("problem", PROBLEMS)
def test_eager(problem, device):
    model, model_new = build(problem, device)
    for _ in range(3):  # fresh inputs each trial
        check_same_function(model_new, model, inputs(problem, device), device)


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
def test_compile_fullgraph(problem, dynamic, device):
    torch._dynamo.reset()
    model, model_new = build(problem, device)
    compiled = torch.compile(model_new, fullgraph=True, dynamic=dynamic)
    for _ in range(2):
        args = inputs(problem, device)
        out = compiled(*args)
        assert rel_l2(out, model_new(*args)) <= 1e-6
    check_same_function(compiled, model, inputs(problem, device), device)
    if dynamic:  # another batch size, no recompilation needed to be right
        args = [torch.cat([a, a[:1]]) if a.dim() >= 3 else a for a in inputs(problem, device)]
        assert rel_l2(compiled(*args), model_new(*args)) <= 1e-6


@pytest.mark.parametrize("problem", [p for p in PROBLEMS if p != "add"])
def test_compiled_training_step(problem, device, monkeypatch):
    """Forward, backward and an optimizer step under torch.compile match the Model's in float64."""
    if problem == "L2_11":
        # At this size (BatchNorm over 2 samples, then GroupNorm) x.grad amplifies the convolution's rounding about
        # 5000x: eager PyTorch's own float32 x.grad is 6.2e-4 from float64's, and TF32 rounding (~1e-3) would make it
        # ~5e-2 (measured on the H100). The step is compared at full float32 accuracy, the TF32 path's accuracy being
        # tested op by op, with room for eager's own error.
        monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    torch._dynamo.reset()
    model, model_new = build(problem, device)
    model = model.double()
    opt, opt_new = (torch.optim.SGD(m.parameters(), lr=0.1) for m in (model, model_new))
    # Gradients through GroupNorm subtract group means of nearly equal terms, so float32 gradients carry
    # about 10x the forward's relative error (eager PyTorch's own: up to ~2e-4 on L2_21).
    tol = tolerance(torch.float32, device) * (100 if problem == "L2_11" else 10 if problem.startswith("L2") else 1)

    def step(m, opt, x):
        opt.zero_grad()
        loss = (m(x) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    compiled_step = torch.compile(step, fullgraph=False)
    for _ in range(2):
        x = inputs(problem, device)[0].requires_grad_()
        x_ref = x.detach().double().requires_grad_()
        loss_new = compiled_step(model_new, opt_new, x)
        loss = step(model, opt, x_ref)
        assert rel_l2(loss_new, loss) <= tolerance(torch.float32, device)
        assert rel_l2(x.grad, x_ref.grad) <= tol
    for p, p_new in zip(model.parameters(), model_new.parameters()):  # the steps carry the gradients' errors
        assert rel_l2(p_new, p) <= tol


def test_compiled_training_step_add(device):
    torch._dynamo.reset()
    a = torch.randn(8, 5, device=device, requires_grad=True)
    b = torch.randn(5, device=device, dtype=torch.float64, requires_grad=True)
    fn = torch.compile(lambda a, b: (torch.ops.fusedops.add(a, b) ** 2).sum(), fullgraph=True)
    fn(a, b).backward()
    ga, gb = torch.autograd.grad(((a + b) ** 2).sum(), (a, b))
    assert torch.allclose(a.grad, ga) and torch.allclose(b.grad, gb)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a GPU")
@pytest.mark.parametrize("problem", PROBLEMS)
def test_compile_reduce_overhead_cuda_graphs(problem):
    torch._dynamo.reset()
    model, model_new = build(problem, "cuda")
    compiled = torch.compile(model_new, mode="reduce-overhead", fullgraph=True)
    for _ in range(3):  # the third call replays the recorded graph
        args = inputs(problem, "cuda")
        with torch.no_grad():
            out = compiled(*args).clone()
        assert rel_l2(out, model_new(*args)) <= 1e-6


@pytest.mark.parametrize("problem", PROBLEMS)
def test_export_and_aoti(problem, device, tmp_path):
    model, model_new = build(problem, device)
    args = inputs(problem, device)
    exported = torch.export.export(model_new, tuple(args))
    assert any("fusedops" in str(node.target) for node in exported.graph.nodes)
    package = torch._inductor.aoti_compile_and_package(exported, package_path=str(tmp_path / "model.pt2"))
    runner = torch._inductor.aoti_load_package(package)
    for _ in range(2):
        args = inputs(problem, device)
        assert rel_l2(runner(*args), model_new(*args)) <= 1e-6


@pytest.mark.parametrize("problem", PROBLEMS)
def test_torchscript_save_load(problem, device, tmp_path):
    model, model_new = build(problem, device)
    scripted = torch.jit.script(model_new)
    scripted.save(str(tmp_path / "model.pt"))
    loaded = torch.jit.load(str(tmp_path / "model.pt"), map_location=device)
    args = inputs(problem, device)
    assert rel_l2(loaded(*args), model_new(*args)) == 0.0
    check_same_function(loaded, model, args, device)
