"""Times the float32 weight gradient alone, fusedops' against cuDNN's (`aten.convolution_backward` with only the
weight gradient asked for), at the convolution shapes of the KB problems; prints each time and the relative error
between the two. The training step's weight gradients are most of its time (bench/NOTES.md, "Backward").

    python bench/weight_grad.py [L1_64 L2_11 ...]   # default: every case; CUDA only
"""
import sys

import torch

import fusedops  # noqa: F401  (registers torch.ops.fusedops)

# name: (transposed, x shape, weight shape, stride, padding, dilation, groups)
CASES = {
    "L1_64": (True, (64, 128, 1, 65536), (128, 128, 1, 3), (1, 1), (0, 0), (1, 1), 1),
    "L1_74": (True, (32, 32, 1, 131072), (32, 64, 1, 5), (1, 1), (0, 0), (1, 3), 1),
    "L2_11": (True, (512, 64, 32, 32), (64, 128, 5, 5), (1, 1), (1, 1), (1, 1), 1),
    "L2_19": (True, (128, 64, 256, 256), (64, 8, 3, 3), (1, 1), (0, 0), (1, 1), 8),
    "L2_21": (False, (128, 8, 256, 256), (32, 8, 3, 3), (1, 1), (0, 0), (1, 1), 1),
}


def median_ms(fn, runs=5):
    fn()
    times = []
    for _ in range(runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return sorted(times)[runs // 2]


def main(names):
    torch.manual_seed(0)
    for name in names:
        transposed, x_shape, w_shape, stride, padding, dilation, groups = CASES[name]
        x = torch.randn(x_shape, device="cuda")
        w = torch.randn(w_shape, device="cuda")
        conv = torch.nn.functional.conv_transpose2d if transposed else torch.nn.functional.conv2d
        y = (conv(x, w, None, stride, padding, 0, groups, dilation) if transposed
             else conv(x, w, None, stride, padding, dilation, groups))
        gy = torch.randn_like(y)
        mask = [False, True, False]

        def ours():
            if transposed:
                return torch.ops.fusedops.conv_transpose2d_backward(gy, x, w, stride, padding, [0, 0], groups, dilation,
                                                                    mask)[1]
            return torch.ops.fusedops.conv2d_backward(gy, x, w, stride, padding, dilation, groups, mask)[1]

        def cudnn():
            return torch.ops.aten.convolution_backward(gy, x, w, None, stride, padding, dilation, transposed, [0, 0],
                                                       groups, mask)[1]

        ours_ms, cudnn_ms = median_ms(ours), median_ms(cudnn)
        ref = cudnn().double()
        err = ((ours().double() - ref).norm() / ref.norm()).item()
        # 2 FLOPs per weight element and output position of the convolution (for a transposed one, x's positions).
        positions = x.numel() // x.shape[1] if transposed else gy.numel() // gy.shape[1]
        gflop = 2 * positions * w.numel() / 1e9
        print(f"{name}: fusedops {ours_ms:.3f} ms, cuDNN {cudnn_ms:.3f} ms, rel L2 difference {err:.1e}, "
              f"{gflop:.0f} GFLOP: {gflop / ours_ms:.0f} TFLOP/s", flush=True)


if __name__ == "__main__":
    if not torch.cuda.is_available():
        sys.exit("bench/weight_grad.py needs a CUDA device")
    main(sys.argv[1:] or list(CASES))
