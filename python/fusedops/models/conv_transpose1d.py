"""L1_64: nn.ConvTranspose1d (KernelBench level 1, problem 64)."""
import torch
import torch.nn as nn

import fusedops  # noqa: F401  (registers torch.ops.fusedops)
from fusedops.models._inputs import make_getters


class Model(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=False):
        super().__init__()
        self.conv1d_transpose = nn.ConvTranspose1d(in_channels, out_channels, kernel_size, stride=stride,
                                                   padding=padding, output_padding=output_padding, groups=groups,
                                                   bias=bias)

    def forward(self, x):
        return self.conv1d_transpose(x)


class FusedConvTranspose1dForward(nn.Module):
    """The forward of every ConvTranspose1d problem's ModelNew: the `conv1d_transpose` submodule's own
    parameters and hyper-parameters through one fusedops kernel. Mixed in ahead of a Model, so that
    ModelNew keeps that Model's constructor, parameters and state_dict."""

    def forward(self, x):
        conv = self.conv1d_transpose
        return torch.ops.fusedops.conv_transpose1d(x, conv.weight, conv.bias, conv.stride[0], conv.padding[0],
                                                   conv.output_padding[0], conv.groups, conv.dilation[0])


class ModelNew(FusedConvTranspose1dForward, Model):
    pass


PROBLEMS = {
    "L1_64": {"KB": ([128, 128, 3], [(64, 128, 65536)]), "SMALL": ([64, 3, 3], [(16, 64, 128)])},
}
get_init_inputs, get_inputs = make_getters(PROBLEMS, "L1_64")
