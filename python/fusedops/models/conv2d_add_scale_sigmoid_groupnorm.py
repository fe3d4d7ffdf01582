"""L2_21: Conv2d -> + bias -> * scale -> sigmoid -> GroupNorm (KernelBench level 2, problem 21)."""
import torch
import torch.nn as nn

import fusedops  # noqa: F401  (registers torch.ops.fusedops)
from fusedops.models._inputs import make_getters


class Model(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, num_groups, bias_shape, scale_shape):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)
        self.bias = nn.Parameter(torch.randn(bias_shape))
        self.scale = nn.Parameter(torch.randn(scale_shape))
        self.group_norm = nn.GroupNorm(num_groups, out_channels)

    def forward(self, x):
        x = self.conv(x)
        x = x + self.bias
        x = x * self.scale
        x = torch.sigmoid(x)
        x = self.group_norm(x)
        return x


class ModelNew(Model):
    """Same constructor, parameters and state_dict as Model; the whole chain is one fusedops operator."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # TorchScript does not see the submodules' constants from here: plain-attribute copies.
        conv = self.conv
        self.hyper = (list(conv.stride), list(conv.padding), list(conv.dilation), conv.groups)
        self.num_groups, self.eps = self.group_norm.num_groups, self.group_norm.eps

    def forward(self, x):
        conv, gn = self.conv, self.group_norm
        stride, padding, dilation, groups = self.hyper
        return torch.ops.fusedops.conv2d_add_scale_sigmoid_group_norm(
            x, conv.weight, conv.bias, self.bias, self.scale, self.num_groups, gn.weight, gn.bias, self.eps, stride,
            padding, dilation, groups)


PROBLEMS = {
    "L2_21": {"KB": ([8, 32, 3, 8, (32, 1, 1), (32, 1, 1)], [(128, 8, 256, 256)]),
              "SMALL": ([3, 16, 3, 8, (16, 1, 1), (16, 1, 1)], [(128, 3, 32, 32)])},
}
get_init_inputs, get_inputs = make_getters(PROBLEMS, "L2_21")
