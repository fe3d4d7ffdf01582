"""One module per reference problem, in the KernelBench convention.

Each module has `Model` (the plain PyTorch reference), `ModelNew` (the same constructor, parameters and
state_dict, computed with fusedops operators), `get_init_inputs()` and `get_inputs()`, and a
`PROBLEMS` table: problem name -> {"KB": (init args, input shapes), "SMALL": ...}, the sizes of
shared/reference/problems.py (KB_SHAPES: the benchmark sizes; SMALL_SHAPES: the older launch-bound ones).
"""
import importlib

MODULES = ("elementwise_add", "conv_transpose1d", "conv_transpose1d_dilated")


def problems():
    """Every problem: name -> (module, {"KB": (init args, input shapes), ...})."""
    table = {}
    for name in MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        for problem, shapes in module.PROBLEMS.items():
            table[problem] = (module, shapes)
    return table
