"""Exports one fusedops model, at small sizes, for the C++ example fusedops_run_model.

For a model module of fusedops.models and one of its problems (the module's first by default), writes
into OUT_DIR:
  <problem>.pt              torch.jit.script(ModelNew) in float32 (loads onto any device)
  <problem>_<device>.pt2    torch.export + AOTInductor package, compiled for that one device
  <problem>_io.pt           torch.save({"inputs": [float32 tensors], "expected": tensor}): the reference
                            Model's output with ModelNew's parameters, computed in float64

  PYTHONPATH=python python examples/export_models.py conv_transpose1d OUT_DIR [--problem L1_64] [--device cuda]
  build/examples/fusedops_run_model OUT_DIR/L1_64_cpu.pt2 OUT_DIR/L1_64_io.pt --device cpu
"""
import argparse
import copy
import importlib
from pathlib import Path

import torch

import fusedops.models

FORMATS = ("pt", "pt2", "io")
# Problems without "SMALL" sizes: (constructor arguments, input shapes) small enough for a quick check.
SMALL_FALLBACK = {"add": ([], [(128, 256), (128, 256)])}


def make_models(module, init_args, shapes, seed=0):
    """(ModelNew, the reference Model with the same parameters, inputs): float32, on the CPU."""
    reference, model = fusedops.models.build_models(module, init_args, seed)
    return model.eval(), reference.eval(), [torch.rand(shape) for shape in shapes]


def make_problem(model_module, problem=None, seed=0):
    """(problem, ModelNew, reference Model with the same parameters, inputs) at small sizes."""
    module = importlib.import_module(f"fusedops.models.{model_module}")
    problem = problem or next(iter(module.PROBLEMS))
    init_args, shapes = module.PROBLEMS[problem].get("SMALL") or SMALL_FALLBACK[problem]
    return (problem, *make_models(module, init_args, shapes, seed))


def write_torchscript(model, path):
    torch.jit.script(model).save(str(path))


def write_aoti(model, inputs, path, device):
    """AOTInductor bakes the device into the package, so the model is exported on `device`."""
    model = copy.deepcopy(model).to(device)
    program = torch.export.export(model, tuple(x.to(device) for x in inputs))
    torch._inductor.aoti_compile_and_package(program, package_path=str(path))


def write_io(reference, inputs, path):
    with torch.no_grad():
        expected = copy.deepcopy(reference).double()(*(x.double() for x in inputs))
    torch.save({"inputs": inputs, "expected": expected}, path)


def export(model_module, out_dir, problem=None, device="cpu", formats=FORMATS):
    """Writes the requested formats into out_dir; returns {format: path}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    problem, model, reference, inputs = make_problem(model_module, problem)
    paths = {}
    if "pt" in formats:
        paths["pt"] = out_dir / f"{problem}.pt"
        write_torchscript(model, paths["pt"])
    if "pt2" in formats:
        paths["pt2"] = out_dir / f"{problem}_{device}.pt2"
        write_aoti(model, inputs, paths["pt2"], device)
    if "io" in formats:
        paths["io"] = out_dir / f"{problem}_io.pt"
        write_io(reference, inputs, paths["io"])
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a module of fusedops.models, e.g. conv_transpose1d or elementwise_add")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--problem", help="one of the module's PROBLEMS (default: its first)")
    parser.add_argument("--device", default="cpu", help="the device the .pt2 is compiled for (default: cpu)")
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    args = parser.parse_args()
    for fmt, path in export(args.model, args.out_dir, args.problem, args.device, args.formats).items():
        print(f"{fmt}: {path}")


if __name__ == "__main__":
    main()
