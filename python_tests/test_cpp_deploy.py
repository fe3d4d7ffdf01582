"""The C++ deployment path: models exported by examples/export_models.py (TorchScript .pt and
AOTInductor .pt2) run from C++ by the example program fusedops_run_model, and that example built on its
own against an installed fusedops (find_package).

FUSEDOPS_EXAMPLE_BIN names the example binary; by default it is the one of the build tree whose library
Python loaded (build/examples/fusedops_run_model unless FUSEDOPS_LIBRARY points elsewhere).
"""
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

import fusedops

REPO = Path(__file__).resolve().parents[1]
BUILD_DIR = Path(fusedops.library_path()).parent
EXAMPLE_BIN = Path(os.environ.get("FUSEDOPS_EXAMPLE_BIN", BUILD_DIR / "examples" / "fusedops_run_model"))
MODELS = ("conv_transpose1d", "elementwise_add", "convt2d_gelu_groupnorm", "conv2d_add_scale_sigmoid_groupnorm",
          "convt2d_bn_tanh_maxpool_groupnorm")
# Relative L2 error of float32 models against their float64 reference. On CUDA, float32 convolutions may
# run in TF32 (PyTorch's default, which fusedops and the C++ program follow).
TOLERANCE = {"cpu": 1e-5, "cuda": 2e-3}
# TorchScript is deprecated in favour of torch.export, but it is one of the two formats deployed here.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script:DeprecationWarning")


def _import_export_models():
    spec = importlib.util.spec_from_file_location("export_models", REPO / "examples" / "export_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


export_models = _import_export_models()


def _why_no_cuda():
    if not torch.cuda.is_available():
        return "no CUDA device"
    if not torch._C._dispatch_has_kernel_for_dispatch_key("fusedops::add", "CUDA"):
        return "fusedops was built without CUDA kernels"
    return None


WHY_NO_CUDA = _why_no_cuda()


def run_example(binary, model, io_file, device="cpu", tolerance=None):
    tolerance = TOLERANCE[device] if tolerance is None else tolerance
    return subprocess.run(
        [str(binary), str(model), str(io_file), "--device", device, "--tolerance", str(tolerance)],
        capture_output=True, text=True, timeout=600)


def check_call(command):
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="session")
def example_bin():
    if not EXAMPLE_BIN.exists():
        pytest.skip(f"{EXAMPLE_BIN} is not built (configure with -DFUSEDOPS_BUILD_EXAMPLES=ON, "
                    "or point FUSEDOPS_EXAMPLE_BIN at it)")
    return EXAMPLE_BIN


def _model_devices():
    for model in MODELS:
        yield pytest.param((model, "cpu"), id=f"{model}-cpu")
        yield pytest.param((model, "cuda"), id=f"{model}-cuda",
                           marks=pytest.mark.skipif(WHY_NO_CUDA is not None, reason=str(WHY_NO_CUDA)))


@pytest.fixture(scope="module", params=list(_model_devices()))
def exported(request, example_bin, tmp_path_factory):
    """(device, {format: path}): one model exported once for every test that runs it on one device."""
    model, device = request.param
    return device, export_models.export(model, tmp_path_factory.mktemp(f"{model}-{device}"), device=device)


@pytest.mark.parametrize("fmt", ["pt", "pt2"])
def test_example_runs_exported_model(example_bin, exported, fmt):
    device, paths = exported
    result = run_example(example_bin, paths[fmt], paths["io"], device)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rel_l2_error=" in result.stdout and result.stdout.rstrip().endswith("OK"), result.stdout


def test_example_fails_beyond_tolerance(example_bin, tmp_path):
    paths = export_models.export("elementwise_add", tmp_path, formats=("pt", "io"))
    io = torch.load(paths["io"])
    io["expected"] = io["expected"] * 1.01  # a relative L2 error of about 1e-2
    wrong_io = tmp_path / "wrong_io.pt"
    torch.save(io, wrong_io)

    result = run_example(example_bin, paths["pt"], wrong_io)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "MISMATCH" in result.stdout
    assert run_example(example_bin, paths["pt"], wrong_io, tolerance=0.1).returncode == 0


@pytest.mark.slow
def test_installed_package_builds_example(tmp_path):
    """cmake --install of the build tree whose library Python loaded, then examples/ configured and built
    alone against it with find_package(fusedops), then run."""
    if not (BUILD_DIR / "cmake_install.cmake").exists():
        pytest.skip(f"{fusedops.library_path()} is not in a CMake build tree")
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake is not on PATH")
    prefix, example_build = tmp_path / "prefix", tmp_path / "build"
    check_call([cmake, "--install", BUILD_DIR, "--prefix", prefix])
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    check_call([cmake, "-S", REPO / "examples", "-B", example_build, *generator,
                f"-DCMAKE_PREFIX_PATH={prefix};{torch.utils.cmake_prefix_path}"])
    cache = (example_build / "CMakeCache.txt").read_text()
    assert f"fusedops_DIR:PATH={prefix}" in cache, "find_package(fusedops) did not find the installed package"
    check_call([cmake, "--build", example_build])

    paths = export_models.export("conv_transpose1d", tmp_path / "model", formats=("pt", "io"))
    result = run_example(example_build / "fusedops_run_model", paths["pt"], paths["io"])
    assert result.returncode == 0, result.stdout + result.stderr
