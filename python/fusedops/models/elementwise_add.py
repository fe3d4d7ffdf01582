"""Elementwise add: a + b (the one-operator example)."""
import torch
import torch.nn as nn

import fusedops  # noqa: F401  (registers torch.ops.fusedops)
from fusedops.models._inputs import make_getters


class Model(nn.Module):
    def forward(self, a, b):
        return a + b


class ModelNew(nn.Module):
    def forward(self, a, b):
        return torch.ops.fusedops.add(a, b)


PROBLEMS = {"add": {"KB": ([], [(4096, 4096), (4096, 4096)])}}
get_init_inputs, get_inputs = make_getters(PROBLEMS, "add")
