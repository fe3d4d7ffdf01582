"""Speed-of-light floors: the least time a problem can take on the GPU, from its bytes and FLOPs.

bytes = every input read once + the output written once + the parameters read once;
flops = 2 * MACs of the problem's convolution (0 for elementwise problems);
floor_ms = max(bytes / copy bandwidth, flops / matmul rate), the matmul rate being TF32's when TF32 is on.
The default ceilings are the H100 measurements of shared/ANCHORS.md.
"""
import math
from dataclasses import dataclass

import torch


@dataclass
class Ceilings:
    copy_tbps: float = 2.98  # device-to-device copy, bytes read + written
    tf32_tflops: float = 396.0
    fp32_tflops: float = 51.0


def _convt_len(size, k, stride=1, padding=0, dilation=1, output_padding=0):
    return (size - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1


def _conv_len(size, k, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (k - 1) - 1) // stride + 1


# Each entry: (input shapes, *the Model's init args) -> (output elements, convolution MACs). The signatures
# mirror the Model constructors (shared/reference/problems.py), defaults included.

def _add(shapes):
    return math.prod(torch.broadcast_shapes(*shapes)), 0


def _convt1d(shapes, cin, cout, k, stride, padding, dilation, output_padding, groups):
    (n, _, length), = shapes
    out_len = _convt_len(length, k, stride, padding, dilation, output_padding)
    # A transposed convolution multiplies every input element by each of its group's cout/groups * k weights.
    return n * cout * out_len, n * cin * length * (cout // groups) * k


def _l1_64(shapes, cin, cout, k, stride=1, padding=0, output_padding=0, groups=1, bias=False):
    return _convt1d(shapes, cin, cout, k, stride, padding, 1, output_padding, groups)


def _l1_dilated(shapes, cin, cout, k, stride=1, padding=0, dilation=1, bias=False):
    return _convt1d(shapes, cin, cout, k, stride, padding, dilation, 0, 1)


def _l2_11(shapes, cin, cout, k, stride, padding, groups, num_groups):
    # ConvTranspose2d (the reference takes `groups` but does not pass it on), BatchNorm, tanh,
    # 2x2 max-pool, GroupNorm: the output is the pooled map.
    (n, _, h, w), = shapes
    ho, wo = (_convt_len(s, k, stride, padding) for s in (h, w))
    return n * cout * (ho // 2) * (wo // 2), n * cin * h * w * cout * k * k


def _l2_19(shapes, cin, cout, k, stride, groups, num_groups):
    (n, _, h, w), = shapes
    ho, wo = (_convt_len(s, k, stride) for s in (h, w))
    return n * cout * ho * wo, n * cin * h * w * (cout // groups) * k * k


def _l2_21(shapes, cin, cout, k, num_groups, bias_shape, scale_shape):
    (n, _, h, w), = shapes
    out = n * cout * _conv_len(h, k) * _conv_len(w, k)
    return out, out * cin * k * k


WORK = {
    "add": _add,
    "L1_64": _l1_64,
    "L1_74": _l1_dilated,
    "L1_79": _l1_dilated,
    "L2_11": _l2_11,
    "L2_19": _l2_19,
    "L2_21": _l2_21,
}


def floor(problem, init_args, input_shapes, param_bytes, tf32, ceilings, itemsize=4):
    """floor_ms, floor_bound ("bytes" or "flops"), floor_bytes, floor_flops; all None for a problem not in WORK."""
    if problem not in WORK:
        return {"floor_ms": None, "floor_bound": None, "floor_bytes": None, "floor_flops": None}
    out_elems, macs = WORK[problem](input_shapes, *init_args)
    nbytes = itemsize * (sum(math.prod(s) for s in input_shapes) + out_elems) + param_bytes
    flops = 2 * macs
    bytes_ms = nbytes / (ceilings.copy_tbps * 1e12) * 1e3
    flops_ms = flops / ((ceilings.tf32_tflops if tf32 else ceilings.fp32_tflops) * 1e12) * 1e3
    return {
        "floor_ms": max(bytes_ms, flops_ms),
        "floor_bound": "bytes" if bytes_ms >= flops_ms else "flops",
        "floor_bytes": nbytes,
        "floor_flops": flops,
    }
