"""The benchmark harness (bench/run.py): one small CPU run end to end, and the floors against ANCHORS.md."""
import importlib
import json
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[1] / "bench"
REQUIRED_FIELDS = (
    "problem", "shapes", "gpu", "tf32", "torch_version", "correct", "trials", "max_abs_err", "rel_l2_err",
    "modelnew_ms", "modelnew_mean_ms", "eager_ms", "eager_mean_ms", "compile_ms", "compile_mean_ms",
    "compile_max_autotune_ms", "compile_max_autotune_mean_ms", "peak_mem_modelnew_mb", "peak_mem_eager_mb",
    "floor_ms", "speedup_vs_eager", "speedup_vs_compile", "pct_of_floor",
)


@pytest.fixture
def bench(monkeypatch):
    """bench/ is a script directory, not a package: its modules import each other by plain name."""
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    return importlib.import_module("run"), importlib.import_module("floors")


def test_cpu_run_writes_a_correct_record(bench, tmp_path):
    run, _ = bench
    status = run.main(["--device", "cpu", "--problems", "L1_64", "--shapes", "SMALL", "--iters", "2",
                       "--skip-compile", "--out-dir", str(tmp_path)])
    assert status == 0
    (json_path,) = tmp_path.glob("*.json")
    assert json_path.with_suffix(".md").exists() and json_path.with_suffix(".png").exists()
    (record,) = json.loads(json_path.read_text())
    assert [f for f in REQUIRED_FIELDS if f not in record] == []
    assert (record["problem"], record["shapes"], record["gpu"]) == ("L1_64", "SMALL", "cpu")
    assert record["correct"] is True and record["error"] is None and record["trials"] == 5
    assert record["modelnew_ms"] > 0 and record["eager_ms"] > 0 and record["floor_ms"] > 0
    assert record["compile_ms"] is None and record["compile_skipped"] is True
    assert record["peak_mem_modelnew_mb"] is None  # CUDA only


def test_training_step_is_timed_and_checked(bench, tmp_path):
    run, _ = bench
    status = run.main(["--device", "cpu", "--problems", "L1_74", "--shapes", "SMALL", "--iters", "2",
                       "--skip-compile", "--train", "--out-dir", str(tmp_path)])
    assert status == 0
    (json_path,) = tmp_path.glob("*.json")
    (record,) = json.loads(json_path.read_text())
    assert record["train_modelnew_ms"] > 0 and record["train_eager_ms"] > 0 and record["train_speedup_vs_eager"] > 0
    assert record["train_grad_rel_l2_err"] < 1e-5 and record["eager_train_grad_rel_l2_err"] < 1e-5  # vs float64
    assert "Training step" in json_path.with_suffix(".md").read_text()


@pytest.mark.parametrize("problem, floor_ms", [("add", 0.067), ("L1_64", 1.43), ("L1_74", 0.54), ("L1_79", 0.45)])
def test_floors_match_anchors(bench, problem, floor_ms):
    import fusedops.models

    _, floors = bench
    init_args, input_shapes = fusedops.models.problems()[problem][1]["KB"]
    result = floors.floor(problem, init_args, input_shapes, 0, True, floors.Ceilings())
    assert result["floor_bound"] == "bytes"
    assert result["floor_ms"] == pytest.approx(floor_ms, rel=0.02)


def test_unknown_problem_has_no_floor(bench):
    _, floors = bench
    assert floors.floor("L9_99", [], [(4, 4)], 0, True, floors.Ceilings())["floor_ms"] is None


def test_kernel_breakdown_lists_both_models(monkeypatch, capsys):
    """bench/breakdown.py on the CPU: each model's forward and training step, the fused operator among ModelNew's."""
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    breakdown = importlib.import_module("breakdown")
    breakdown.main(["--device", "cpu", "--shapes", "SMALL", "--top", "3", "L1_79"])
    out = capsys.readouterr().out
    for section in ("ModelNew forward", "ModelNew training step", "eager forward", "eager training step"):
        assert f"  {section}: " in out, out
    assert "fusedops::conv_transpose1d" in out and "aten::" in out, out
