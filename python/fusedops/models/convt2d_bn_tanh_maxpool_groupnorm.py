"""L2_11: ConvTranspose2d -> BatchNorm2d -> tanh -> MaxPool2d(2, 2) -> GroupNorm (KernelBench level 2, problem 11)."""
from typing import Optional, Tuple

import torch
import torch.nn as nn

import fusedops  # noqa: F401  (registers torch.ops.fusedops)
from fusedops.models._inputs import make_getters


class Model(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, groups, num_groups):
        super().__init__()
        self.conv_transpose = nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
        self.batch_norm = nn.BatchNorm2d(out_channels)
        self.tanh = nn.Tanh()
        self.max_pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.group_norm = nn.GroupNorm(num_groups=num_groups, num_channels=out_channels)

    def forward(self, x):
        x = self.conv_transpose(x)
        x = self.batch_norm(x)
        x = self.tanh(x)
        x = self.max_pool(x)
        x = self.group_norm(x)
        return x


class ModelNew(Model):
    """Same constructor, parameters, buffers and state_dict as Model; the whole chain is one fusedops operator, which
    updates BatchNorm's running statistics in place in training mode exactly as nn.BatchNorm2d does."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # TorchScript does not see the submodules' constants from here: plain-attribute copies.
        conv, pool = self.conv_transpose, self.max_pool
        self.hyper = (list(conv.stride), list(conv.padding), list(conv.output_padding), conv.groups, list(conv.dilation))
        self.pool = ([pool.kernel_size] * 2 if isinstance(pool.kernel_size, int) else list(pool.kernel_size),
                     [pool.stride] * 2 if isinstance(pool.stride, int) else list(pool.stride))
        self.num_groups, self.gn_eps = self.group_norm.num_groups, self.group_norm.eps
        self.bn_hyper = self._batch_norm_hyper()

    @torch.jit.unused
    def _batch_norm_hyper(self) -> Tuple[Optional[float], float, bool]:
        bn = self.batch_norm
        return bn.momentum, bn.eps, bn.track_running_stats

    def __prepare_scriptable__(self):
        self.bn_hyper = self._batch_norm_hyper()  # BatchNorm2d's momentum and eps as they are when scripted
        return self

    def forward(self, x):
        conv, bn, gn = self.conv_transpose, self.batch_norm, self.group_norm
        stride, padding, output_padding, groups, dilation = self.hyper
        pool_kernel, pool_stride = self.pool
        # Eager, compile and export read BatchNorm2d's attributes live; TorchScript sees the copy made when scripted.
        momentum, eps, track_running_stats = self.bn_hyper if torch.jit.is_scripting() else self._batch_norm_hyper()
        # nn.BatchNorm2d's bookkeeping: count the batch, pick the averaging factor, pick the statistics.
        factor = 0.0 if momentum is None else momentum
        num_batches_tracked = bn.num_batches_tracked
        if self.training and track_running_stats and num_batches_tracked is not None:
            num_batches_tracked.add_(1)
            factor = 1.0 / float(num_batches_tracked) if momentum is None else momentum
        running_mean: Optional[torch.Tensor] = bn.running_mean
        running_var: Optional[torch.Tensor] = bn.running_var
        use_batch_stats = self.training or (running_mean is None and running_var is None)
        if self.training and not track_running_stats:
            running_mean, running_var = None, None
        return torch.ops.fusedops.conv_transpose2d_batch_norm_tanh_max_pool_group_norm(
            x, conv.weight, conv.bias, bn.weight, bn.bias, running_mean, running_var, use_batch_stats, factor, eps,
            pool_kernel, pool_stride, self.num_groups, gn.weight, gn.bias, self.gn_eps, stride, padding,
            output_padding, groups, dilation)


PROBLEMS = {
    "L2_11": {"KB": ([64, 128, 5, 1, 1, 8, 8], [(512, 64, 32, 32)]),
              "SMALL": ([32, 64, 4, 2, 1, 8, 4], [(128, 32, 32, 32)])},
}
get_init_inputs, get_inputs = make_getters(PROBLEMS, "L2_11")
