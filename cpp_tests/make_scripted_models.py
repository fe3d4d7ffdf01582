"""Writes the TorchScript models that test_torchscript.cpp loads (run by a CTest fixture).

For each case below: OUT_DIR/<case>.pt, torch.jit.script(ModelNew) in float32, and OUT_DIR/<case>_io.pt,
torch.save({"inputs": [float32 tensors], "expected": the reference Model's output computed in float64}).
"""
import argparse
import sys
from pathlib import Path

from fusedops.models import (conv2d_add_scale_sigmoid_groupnorm, conv_transpose1d, conv_transpose1d_dilated,
                             convt2d_bn_tanh_maxpool_groupnorm, convt2d_gelu_groupnorm, elementwise_add)

# The example's exporter writes the same two files; reuse it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from export_models import make_models, write_io, write_torchscript  # noqa: E402

# case -> (model module, constructor arguments, input shapes); test_torchscript.cpp lists the same names.
CASES = {
    "conv_transpose1d": (conv_transpose1d, *conv_transpose1d.PROBLEMS["L1_64"]["SMALL"]),
    # in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias
    "conv_transpose1d_grouped_bias": (conv_transpose1d, [8, 6, 3, 2, 1, 1, 2, True], [(2, 8, 16)]),
    "conv_transpose1d_dilated": (conv_transpose1d_dilated, *conv_transpose1d_dilated.PROBLEMS["L1_79"]["SMALL"]),
    "elementwise_add_broadcast": (elementwise_add, [], [(4, 1, 8), (3, 1)]),
    # in, out, kernel, stride, groups, num_groups
    "convt2d_gelu_groupnorm": (convt2d_gelu_groupnorm, [8, 16, 3, 2, 4, 4], [(2, 8, 9, 7)]),
    # in, out, kernel, stride, padding, groups (unused by the Model), num_groups; eval mode (running statistics)
    "convt2d_bn_tanh_maxpool_groupnorm": (convt2d_bn_tanh_maxpool_groupnorm, [8, 16, 3, 2, 1, 8, 4], [(2, 8, 9, 7)]),
    "conv2d_add_scale_sigmoid_groupnorm": (conv2d_add_scale_sigmoid_groupnorm,
                                           *conv2d_add_scale_sigmoid_groupnorm.PROBLEMS["L2_21"]["SMALL"]),
}


def write_case(out_dir, name, module, init_args, shapes):
    model, reference, inputs = make_models(module, init_args, shapes)
    write_torchscript(model, out_dir / f"{name}.pt")
    write_io(reference, inputs, out_dir / f"{name}_io.pt")


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
