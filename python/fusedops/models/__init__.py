"""One module per reference problem, in the KernelBench convention.

Each module has `Model` (the plain PyTorch reference), `ModelNew` (the same constructor, parameters and
state_dict, computed with fusedops operators), `get_init_inputs()` and `get_inputs()`, and a
`PROBLEMS` table: problem name -> {"KB": (init args, input shapes), "SMALL": ...}, the sizes of
shared/reference/problems.py (KB_SHAPES: the benchmark sizes; SMALL_SHAPES: the older launch-bound ones).
"""
import importlib

import torch

MODULES = (
    "elementwise_add",
    "conv_transpose1d",
    "conv_transpose1d_dilated",
    "convt2d_bn_tanh_maxpool_groupnorm",
    "convt2d_gelu_groupnorm",
    "conv2d_add_scale_sigmoid_groupnorm",
)


def problems():
    """Every problem: name -> (module, {"KB": (init args, input shapes), ...})."""
    table = {}
    for name in MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        for problem, shapes in module.PROBLEMS.items():
            table[problem] = (module, shapes)
    return table


def build_models(module, init_args, seed=0):
    """(Model, ModelNew) of a problem module, each built right after torch.manual_seed(seed): the
    KernelBench convention under which both hold identical parameters."""
    torch.manual_seed(seed)
    model = module.Model(*init_args)
    torch.manual_seed(seed)
    return model, module.ModelNew(*init_args)
