#!/usr/bin/env python3
"""KernelBench-style benchmark of fusedops' ModelNew against eager PyTorch and torch.compile.

    PYTHONPATH=python python bench/run.py [--problems L1_64,add] [--shapes KB,SMALL] [--device cuda]
        [--tf32 on|off] [--iters N] [--skip-compile] [--out-dir bench/results]

Every problem of fusedops.models.problems() is checked for correctness, timed, and written to
<out-dir>/<device>_<shapes>.{json,md,png}; bench/README.md describes the method and the JSON fields.
The exit status is 1 when any ModelNew is incorrect (or fails), 0 otherwise.
"""
import argparse
import gc
import json
import re
import sys
import traceback
from pathlib import Path

import torch
from tqdm import tqdm

import fusedops.models
from floors import Ceilings, floor
from measure import TRIALS, Timer, build_models, check_correctness, compile_model, peak_memory_mb, training_steps
from report import summary, write_chart, write_json, write_markdown

COMPILE_MODES = {"compile": "default", "compile_max_autotune": "max-autotune-no-cudagraphs"}
TIMED = ("modelnew", "eager", *COMPILE_MODES)
ERROR_CHARS = 1000  # inductor's error messages can run to pages


def parse_args(argv):
    parser = argparse.ArgumentParser(description="KernelBench-style benchmark of fusedops' ModelNew.")
    parser.add_argument("--problems", help="comma-separated subset of the problems (default: all)")
    parser.add_argument("--shapes", help="comma-separated shape sets: KB and/or SMALL (default: KB on CUDA; "
                                         "on CPU, SMALL where a problem has it and KB otherwise)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="default: cuda if available, else cpu")
    parser.add_argument("--tf32", choices=("on", "off"),
                        help="set cuDNN's and CUDA matmul's allow_tf32 (default: PyTorch's, cuDNN's on)")
    parser.add_argument("--iters", type=int, help="timed runs of each model (default: 100 on CUDA, 10 on CPU)")
    parser.add_argument("--skip-compile", action="store_true", help="skip the two torch.compile baselines")
    parser.add_argument("--train", action="store_true",
                        help="also time a training step (forward + backward) of ModelNew and eager Model")
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent / "results",
                        help="where the JSON, markdown and PNG go (default: bench/results)")
    parser.add_argument("--copy-tbps", type=float, default=Ceilings.copy_tbps,
                        help="floor ceiling: copy bandwidth, TB/s read + written (default: %(default)s, H100)")
    parser.add_argument("--tf32-tflops", type=float, default=Ceilings.tf32_tflops,
                        help="floor ceiling: TF32 matmul TFLOP/s, used with TF32 on (default: %(default)s)")
    parser.add_argument("--fp32-tflops", type=float, default=Ceilings.fp32_tflops,
                        help="floor ceiling: fp32 matmul TFLOP/s, used with TF32 off (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.iters is not None and args.iters < 1:
        parser.error("--iters must be at least 1")
    return parser, args


def select_jobs(parser, table, args, device):
    """[(problem, shape set)] in table order, and the shape-set label of the output files.

    Each requested entry is a preference list: a problem runs with the first of its sets that it has.
    """
    names = args.problems.split(",") if args.problems else list(table)
    unknown = [n for n in names if n not in table]
    if unknown:
        parser.error(f"unknown problems {unknown}; known: {', '.join(table)}")
    if args.shapes:
        preferences = [[s] for s in args.shapes.split(",")]
        known_sets = {s for _, sets in table.values() for s in sets}
        if any(s not in known_sets for [s] in preferences):
            parser.error(f"--shapes takes {', '.join(sorted(known_sets))}")
    else:
        preferences = [["KB"]] if device.type == "cuda" else [["SMALL", "KB"]]
    jobs = []
    for name in names:
        sets = table[name][1]
        for preference in preferences:
            chosen = next((s for s in preference if s in sets), None)
            if chosen is None:
                print(f"skipping {name}: it has no {'/'.join(preference)} shapes", file=sys.stderr)
            else:
                jobs.append((name, chosen))
    return jobs, "+".join("-or-".join(p) for p in preferences)


def device_name(device):
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def new_record(problem, shapes, spec, device, timer, tol, skip_compile):
    init_args, input_shapes = spec
    return {
        "problem": problem, "shapes": shapes, "gpu": device_name(device), "device": str(device),
        "torch_version": torch.__version__, "tf32": torch.backends.cudnn.allow_tf32,
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "init_args": list(init_args), "input_shapes": [list(s) for s in input_shapes],
        "correct": False, "error": None, "trials": TRIALS, "tolerance": tol,
        "max_abs_err": None, "rel_l2_err": None, "eager_rel_l2_err": None,
        "iters": timer.iters, "warmup": timer.warmup,
        **{f"{name}_{stat}": None for name in TIMED for stat in ("ms", "mean_ms")},
        "compile_skipped": skip_compile,
        **{f"{name}_{field}": None for name in COMPILE_MODES for field in ("s", "error")},
        "peak_mem_modelnew_mb": None, "peak_mem_eager_mb": None,
        "floor_ms": None, "floor_bound": None, "floor_bytes": None, "floor_flops": None,
        "best_compile_ms": None, "speedup_vs_eager": None, "speedup_vs_compile": None, "pct_of_floor": None,
        "train_modelnew_ms": None, "train_eager_ms": None,
        "train_grad_rel_l2_err": None, "eager_train_grad_rel_l2_err": None,
        "train_speedup_vs_eager": None, "train_error": None,
    }


def _message(err):
    return f"{type(err).__name__}: {err}"[:ERROR_CHARS]


def measure(record, module, device, timer, ceilings, skip_compile, train, stage):
    """Fills `record` in; an exception leaves the fields not yet measured null."""
    problem, shapes = record["problem"], record["shapes"]
    stage("build")
    model, model_new = build_models(module, record["init_args"], device)
    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    record.update(floor(problem, record["init_args"], record["input_shapes"], param_bytes, record["tf32"], ceilings))

    stage("correctness")
    record.update(check_correctness(model, model_new, lambda: module.get_inputs(problem, shapes, device=device),
                                    record["tolerance"]))

    inputs = module.get_inputs(problem, shapes, device=device)
    stage("peak memory")
    record["peak_mem_modelnew_mb"] = peak_memory_mb(model_new, inputs, device)
    record["peak_mem_eager_mb"] = peak_memory_mb(model, inputs, device)
    for name, fn in (("modelnew", model_new), ("eager", model)):
        stage(f"time {name}")
        record[f"{name}_ms"], record[f"{name}_mean_ms"] = timer(fn, inputs)
    if train and any(p.requires_grad for p in model.parameters()):  # (nothing to train in `add`)
        stage("training step")
        try:  # recorded like a failing compile baseline: the forward's figures stand
            (eager_step, new_step), errors = training_steps(model, model_new, inputs)
            record["train_grad_rel_l2_err"], record["eager_train_grad_rel_l2_err"] = errors
            with torch.enable_grad():
                record["train_modelnew_ms"], _ = timer(new_step, inputs)
                record["train_eager_ms"], _ = timer(eager_step, inputs)
        except Exception as err:
            record["train_error"] = _message(err)
            tqdm.write(f"{problem} {shapes}: training step failed: {_message(err).splitlines()[0]}", file=sys.stderr)
        model.zero_grad(set_to_none=True)
        model_new.zero_grad(set_to_none=True)
    if skip_compile:
        return
    for name, mode in COMPILE_MODES.items():
        stage(f"{name} ({mode})")
        try:  # a baseline that fails to compile is recorded, not fatal
            compiled, record[f"{name}_s"] = compile_model(model, mode, inputs, device)
            record[f"{name}_ms"], record[f"{name}_mean_ms"] = timer(compiled, inputs)
        except Exception as err:
            record[f"{name}_error"] = _message(err)
            tqdm.write(f"{problem} {shapes}: {name} failed: {_message(err).splitlines()[0]}", file=sys.stderr)


def add_ratios(record):
    compiled = [record[f"{name}_ms"] for name in COMPILE_MODES if record[f"{name}_ms"] is not None]
    record["best_compile_ms"] = min(compiled, default=None)
    new_ms = record["modelnew_ms"]
    if new_ms:
        for key, base in (("speedup_vs_eager", "eager_ms"), ("speedup_vs_compile", "best_compile_ms")):
            record[key] = record[base] / new_ms if record[base] is not None else None
        if record["floor_ms"] is not None:
            record["pct_of_floor"] = record["floor_ms"] / new_ms * 100
    if record["train_modelnew_ms"]:
        record["train_speedup_vs_eager"] = record["train_eager_ms"] / record["train_modelnew_ms"]


def release(device):
    """Drops compiled graphs and cached blocks, so one problem's memory does not weigh on the next."""
    torch._dynamo.reset()
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def main(argv=None):
    parser, args = parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and device.index is None:  # "cuda" means the current device; APIs below need an index
        device = torch.device("cuda", torch.cuda.current_device())
    if args.tf32:
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = args.tf32 == "on"
    tol = 1e-2 if torch.backends.cudnn.allow_tf32 else 1e-4
    table = fusedops.models.problems()
    jobs, shapes_label = select_jobs(parser, table, args, device)
    if not jobs:
        parser.error("nothing to run")
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.set_device(device)  # the timing events and L2 flush go to the current device's stream
    timer = Timer(device, iters=args.iters or (100 if cuda else 10), warmup=10 if cuda else 2)
    ceilings = Ceilings(args.copy_tbps, args.tf32_tflops, args.fp32_tflops)

    records = []
    with torch.no_grad(), tqdm(jobs, unit="problem") as bar:
        for problem, shapes in bar:
            bar.set_description(f"{problem} {shapes}")
            module, specs = table[problem]
            record = new_record(problem, shapes, specs[shapes], device, timer, tol, args.skip_compile)
            try:
                measure(record, module, device, timer, ceilings, args.skip_compile, args.train, bar.set_postfix_str)
            except Exception as err:  # one failing problem must not end the run
                record["error"], record["correct"] = _message(err), False
                tqdm.write(f"{problem} {shapes} failed:\n{traceback.format_exc()}", file=sys.stderr)
            add_ratios(record)
            records.append(record)
            release(device)

    tf32 = torch.backends.cudnn.allow_tf32
    gpu = device_name(device)
    stem = f"{re.sub(r'[^A-Za-z0-9.-]+', '_', gpu)}_{shapes_label}" + ("" if tf32 else "_tf32off")
    title = f"fusedops bench: {gpu}, torch {torch.__version__}, TF32 {'on' if tf32 else 'off'}"
    settings = (f"shapes {shapes_label}; median of {timer.iters} runs after {timer.warmup} warm-up"
                f"{', L2 flushed before each' if cuda else ''}; correctness: {TRIALS} trials, "
                f"rtol = atol = {tol:g}; floor ceilings: copy {ceilings.copy_tbps} TB/s, matmul "
                f"{ceilings.tf32_tflops if tf32 else ceilings.fp32_tflops} TFLOP/s.")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    paths = [args.out_dir / f"{stem}.{ext}" for ext in ("json", "md", "png")]
    if args.problems and paths[0].exists():  # a subset run updates its problems' rows, keeps the others
        ran = {r["problem"] for r in records}
        kept = [r for r in json.loads(paths[0].read_text()) if r["problem"] not in ran]
        order = list(table)
        records = sorted(kept + records, key=lambda r: order.index(r["problem"]) if r["problem"] in order else len(order))
    write_json(records, paths[0])
    write_markdown(records, paths[1], title, settings)
    write_chart(records, paths[2], title)

    print(f"\n{title}\n{summary(records)}")
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0 if all(r["correct"] for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
