"""L1_74 and L1_79: nn.ConvTranspose1d with dilation (and stride), KernelBench level 1 problems 74 and 79."""
import torch.nn as nn

from fusedops.models._inputs import make_getters
from fusedops.models.conv_transpose1d import FusedConvTranspose1dForward


class Model(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, bias=False):
        super().__init__()
        self.conv1d_transpose = nn.ConvTranspose1d(in_channels, out_channels, kernel_size, stride=stride,
                                                   padding=padding, dilation=dilation, bias=bias)

    def forward(self, x):
        return self.conv1d_transpose(x)


class ModelNew(FusedConvTranspose1dForward, Model):
    """Same constructor and parameters as Model; one fusedops kernel per forward."""


PROBLEMS = {
    "L1_74": {"KB": ([32, 64, 5, 1, 0, 3], [(32, 32, 131072)]), "SMALL": ([3, 64, 5, 1, 0, 3], [(16, 3, 256)])},
    "L1_79": {"KB": ([32, 64, 3, 2, 1, 2], [(16, 32, 131072)]), "SMALL": ([32, 64, 3, 2, 1, 2], [(16, 32, 128)])},
}
get_init_inputs, get_inputs = make_getters(PROBLEMS, "L1_74")
