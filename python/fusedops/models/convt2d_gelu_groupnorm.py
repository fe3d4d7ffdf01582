"""L2_19: ConvTranspose2d -> GELU (exact erf) -> GroupNorm (KernelBench level 2, problem 19)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

import fusedops  # noqa: F401  (registers torch.ops.fusedops)
from fusedops.models._inputs import make_getters


class Model(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, groups, num_groups):
        super().__init__()
        self.conv_transpose = nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride=stride, groups=groups)
        self.group_norm = nn.GroupNorm(num_groups=num_groups, num_channels=out_channels)

    def forward(self, x):
        x = self.conv_transpose(x)
        x = F.gelu(x)
        x = self.group_norm(x)
        return x


class ModelNew(Model):
    """Same constructor, parameters and state_dict as Model; the whole chain is one fusedops operator."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # TorchScript does not see the submodules' constants from here: plain-attribute copies.
        conv = self.conv_transpose
        self.hyper = (list(conv.stride), list(conv.padding), list(conv.output_padding), conv.groups, list(conv.dilation))
        self.num_groups, self.eps = self.group_norm.num_groups, self.group_norm.eps

    def forward(self, x):
        conv, gn = self.conv_transpose, self.group_norm
        stride, padding, output_padding, groups, dilation = self.hyper
        return torch.ops.fusedops.conv_transpose2d_gelu_group_norm(
            x, conv.weight, conv.bias, self.num_groups, gn.weight, gn.bias, self.eps, "none", stride, padding,
            output_padding, groups, dilation)


PROBLEMS = {
    "L2_19": {"KB": ([64, 64, 3, 1, 8, 8], [(128, 64, 256, 256)]),
              "SMALL": ([32, 64, 4, 2, 8, 8], [(128, 32, 32, 32)])},
}
get_init_inputs, get_inputs = make_getters(PROBLEMS, "L2_19")
