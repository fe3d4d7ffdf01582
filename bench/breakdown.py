#!/usr/bin/env python3
"""Where each problem's time goes: the CUDA kernels (on the CPU, the operators' own time) of one forward and of one
training step (zero_grad, forward, backward from a fixed random output gradient) of ModelNew and of eager Model, by
torch.profiler, in decreasing time. bench/run.py gives the reported figures; this gives the per-kernel breakdown that
bench/NOTES.md compares with each kernel's floor. The sums include no launch gaps, so they can be below run.py's times.

    PYTHONPATH=python python bench/breakdown.py [--device cuda|cpu] [--shapes KB|SMALL] [--tf32 on|off] [--no-train]
        [--top 8] [L2_19 ...]
"""
import argparse
import sys

import torch
from torch.profiler import ProfilerActivity, profile

import fusedops.models
from measure import build_models, training_step

WARMUP = 2


def kernel_times(fn, device):
    """[(kernel or operator name, ms)] of one call of fn, after WARMUP calls, in decreasing time."""
    cuda = device == "cuda"
    for _ in range(WARMUP):
        fn()
    if cuda:
        torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA if cuda else ProfilerActivity.CPU]) as prof:
        fn()
        if cuda:
            torch.cuda.synchronize()
    if cuda:
        rows = [(e.key, e.device_time_total / 1e3) for e in prof.key_averages()
                if e.device_type == torch.autograd.DeviceType.CUDA and e.device_time_total > 0]
    else:
        rows = [(e.key, e.self_cpu_time_total / 1e3) for e in prof.key_averages() if e.self_cpu_time_total > 0]
    return sorted(rows, key=lambda row: -row[1])


def report(label, rows, top):
    total = sum(ms for _, ms in rows)
    print(f"  {label}: {total:.3f} ms, {len(rows)} entries")
    for name, ms in rows[:top]:
        print(f"    {ms:9.3f}  {name[:110]}")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("problems", nargs="*", help="problem names (default: every problem)")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--shapes", default="KB", help="shape set: KB or SMALL (default KB)")
    parser.add_argument("--tf32", choices=("on", "off"), default="on", help="torch.backends.cudnn.allow_tf32")
    parser.add_argument("--no-train", action="store_true", help="profile the forward only")
    parser.add_argument("--top", type=int, default=8, help="kernels listed per profile (default 8)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("CUDA is not available")
    torch.backends.cudnn.allow_tf32 = args.tf32 == "on"
    table = fusedops.models.problems()
    unknown = [name for name in args.problems if name not in table]
    if unknown:
        parser.error(f"unknown problems {unknown}; known: {', '.join(table)}")
    for name in args.problems or list(table):
        module, sets = table[name]
        if args.shapes not in sets:
            print(f"skipping {name}: it has no {args.shapes} shapes", file=sys.stderr)
            continue
        model, model_new = build_models(module, sets[args.shapes][0], args.device)
        inputs = module.get_inputs(name, args.shapes, device=args.device)
        gpu = f", {torch.cuda.get_device_name()}" if args.device == "cuda" else ""
        print(f"{name} ({args.shapes}, {args.device}{gpu}, TF32 {args.tf32})")
        train = not args.no_train and any(p.requires_grad for p in model.parameters())
        with torch.no_grad():
            grad_out = torch.randn_like(model(*inputs))
        for label, m in (("ModelNew", model_new), ("eager", model)):
            with torch.no_grad():
                report(f"{label} forward", kernel_times(lambda: m(*inputs), args.device), args.top)
            if train:
                step = training_step(m, grad_out)
                report(f"{label} training step", kernel_times(lambda: step(*inputs), args.device), args.top)
        del model, model_new, inputs, grad_out
        if args.device == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main(sys.argv[1:])
