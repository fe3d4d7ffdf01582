"""Writes the TorchScript models that test_torchscript.cpp loads (run by a CTest fixture).

For each case below: OUT_DIR/<case>.pt, torch.jit.script(ModelNew) in float32, and OUT_DIR/<case>_io.pt,
torch.save({"inputs": [float32 tensors], "expected": the reference Model's output computed in float64}).
"""
import argparse
from pathlib import Path

import torch

from fusedops.models import conv_transpose1d, conv_transpose1d_dilated, elementwise_add

# case -> (model module, constructor arguments, input shapes); test_torchscript.cpp lists the same names.
CASES = {
    "conv_transpose1d": (conv_transpose1d, *conv_transpose1d.PROBLEMS["L1_64"]["SMALL"]),
    # in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias
    "conv_transpose1d_grouped_bias": (conv_transpose1d, [8, 6, 3, 2, 1, 1, 2, True], [(2, 8, 16)]),
    "conv_transpose1d_dilated": (conv_transpose1d_dilated, *conv_transpose1d_dilated.PROBLEMS["L1_79"]["SMALL"]),
    "elementwise_add_broadcast": (elementwise_add, [], [(4, 1, 8), (3, 1)]),
}


def write_case(out_dir, name, module, init_args, shapes):
    torch.manual_seed(0)
    model = module.ModelNew(*init_args)
    reference = module.Model(*init_args)
    reference.load_state_dict(model.state_dict())
    inputs = [torch.rand(shape) for shape in shapes]
    with torch.no_grad():
        expected = reference.double()(*[x.double() for x in inputs])
    torch.jit.script(model).save(str(out_dir / f"{name}.pt"))
    torch.save({"inputs": inputs, "expected": expected}, out_dir / f"{name}_io.pt")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    out_dir = parser.parse_args().out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, (module, init_args, shapes) in CASES.items():
        write_case(out_dir, name, module, init_args, shapes)
        print(f"wrote {out_dir / name}.pt and {name}_io.pt")


if __name__ == "__main__":
    main()
