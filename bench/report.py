"""The run's outputs: JSON records, a markdown table, a bar chart, and the terminal summary."""
import json
import math

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402

SERIES = (  # (label, record key) of the timings in the chart
    ("ModelNew", "modelnew_ms"),
    ("eager", "eager_ms"),
    ("torch.compile", "compile_ms"),
    ("compile max-autotune-no-cudagraphs", "compile_max_autotune_ms"),
)


def _num(value, spec=".4g"):
    return "-" if value is None else format(value, spec)


def _ok(record):
    return "yes" if record["correct"] else ("ERROR" if record["error"] else "NO")


def _floor(record):
    return "-" if record["floor_ms"] is None else f"{record['floor_ms']:.4g} ({record['floor_bound']})"


def _finite(value):
    """NaN and infinities are not JSON: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def write_json(records, path):
    path.write_text(json.dumps(_finite(records), indent=2, allow_nan=False) + "\n")


def write_markdown(records, path, title, settings):
    lines = [
        f"# {title}", "", settings, "",
        "| problem | shapes | correct | max abs err | rel L2 err (eager's) | ModelNew ms | eager ms | compile ms "
        "| max-autotune ms | x eager | x compile | floor ms | % of floor | peak MB ModelNew / eager |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(
            f"| {r['problem']} | {r['shapes']} | {_ok(r)} | {_num(r['max_abs_err'], '.2e')} "
            f"| {_num(r['rel_l2_err'], '.2e')} ({_num(r['eager_rel_l2_err'], '.2e')}) "
            f"| {_num(r['modelnew_ms'])} | {_num(r['eager_ms'])} | {_num(r['compile_ms'])} "
            f"| {_num(r['compile_max_autotune_ms'])} | {_num(r['speedup_vs_eager'], '.2f')} "
            f"| {_num(r['speedup_vs_compile'], '.2f')} | {_floor(r)} "
            f"| {_num(r['pct_of_floor'], '.1f')} | {_num(r['peak_mem_modelnew_mb'], '.1f')} / "
            f"{_num(r['peak_mem_eager_mb'], '.1f')} |")
    trained = [r for r in records if r.get("train_modelnew_ms") is not None]
    if trained:
        lines += ["", "Training step (forward, then backward from a fixed output gradient; no optimizer):", "",
                  "| problem | shapes | ModelNew ms | eager ms | x eager | parameter grads: rel L2 err (eager's) |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r['problem']} | {r['shapes']} | {_num(r['train_modelnew_ms'])} | {_num(r['train_eager_ms'])} "
                  f"| {_num(r['train_speedup_vs_eager'], '.2f')} | {_num(r['train_grad_rel_l2_err'], '.2e')} "
                  f"({_num(r.get('eager_train_grad_rel_l2_err'), '.2e')}) |"
                  for r in trained]
    notes = [f"- {r['problem']} {r['shapes']}: {key}: {r[key].splitlines()[0]}" for r in records
             for key in ("error", "compile_error", "compile_max_autotune_error", "train_error") if r.get(key)]
    if notes:
        lines += ["", "Errors (first lines; the JSON has the whole messages):", ""] + notes
    path.write_text("\n".join(lines) + "\n")


def write_chart(records, path, title):
    """Grouped bars of median ms per problem (log scale), the floor drawn as a dashed line over each group."""
    fig, ax = plt.subplots(figsize=(3.5 + 1.6 * len(records), 4.8))
    width = 0.8 / len(SERIES)
    for i, (label, key) in enumerate(SERIES):
        bars = [(j + (i - (len(SERIES) - 1) / 2) * width, r[key]) for j, r in enumerate(records)
                if r[key] is not None]
        if bars:
            ax.bar(*zip(*bars), width, label=label)
    floors = [(j, r["floor_ms"]) for j, r in enumerate(records) if r["floor_ms"] is not None]
    for n, (j, floor_ms) in enumerate(floors):
        ax.hlines(floor_ms, j - 0.4, j + 0.4, colors="black", linestyles="--", label=None if n else "floor")
    ax.set_xticks(range(len(records)), [f"{r['problem']}\n{r['shapes']}" for r in records])
    if ax.has_data():
        ax.set_yscale("log")
    ax.set_ylabel("ms per forward (median, log scale)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: bars fill the axes
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def summary(records):
    """A plain-text table for the terminal (with the training step's times when any were measured)."""
    train = any(r.get("train_modelnew_ms") is not None for r in records)
    header = ("problem", "shapes", "ok?", "modelnew_ms", "eager_ms", "compile_ms", "x eager", "x compile", "%floor",
              *(("train_ms", "train_eager_ms", "x eager (train)") if train else ()))
    rows = [header] + [
        (r["problem"], r["shapes"], _ok(r), _num(r["modelnew_ms"]), _num(r["eager_ms"]),
         _num(r["best_compile_ms"]), _num(r["speedup_vs_eager"], ".2f"), _num(r["speedup_vs_compile"], ".2f"),
         _num(r["pct_of_floor"], ".1f"),
         *((_num(r.get("train_modelnew_ms")), _num(r.get("train_eager_ms")),
            _num(r.get("train_speedup_vs_eager"), ".2f")) if train else ()))
        for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
