"""Notebook displays (issue 18, part 3): HTML of results and registry entries, LaTeX of walls,
equations and systems, DataFrames of sweeps and validation reports; and the optional extras are
never imported by ``import mlsysim_sym``."""

import subprocess
import sys
import types

import numpy as np
import pytest

import mlsysim_sym as ms
from mlsysim_sym.calibration.validate import ValidationReport, ValidationRow


def test_import_does_not_pull_the_plot_or_notebook_extras():
    code = ("import sys, mlsysim_sym as ms\n"
            "r = ms.predict('llama-3-8b', 'h100')\n"
            "r._repr_html_(); ms.walls.serving._repr_latex_()\n"
            "ms.registry.hardware('h100')._repr_html_()\n"
            "print(sorted(m for m in ('matplotlib', 'pandas', 'IPython') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=300)
    assert out.stdout.strip() == "[]"


def test_without_the_extras_the_error_says_what_to_install(tmp_path):
    # matplotlib and pandas blocked in a fresh interpreter: a one-line ImportError naming the
    # extra, and the CLI's --plot exits 2 with one line on stderr
    code = ("import sys\n"
            "sys.modules['matplotlib'] = None; sys.modules['pandas'] = None\n"
            "import numpy as np, mlsysim_sym as ms\n"
            "r = ms.predict('llama-3-8b', 'h100', batch=np.array([1, 2]))\n"
            "for f in (r.plot, r.to_frame):\n"
            "    try:\n"
            "        f()\n"
            "    except ImportError as e:\n"
            "        print(e)\n"
            "from mlsysim_sym.cli import main\n"
            f"print(main(['predict', 'llama-3-8b', 'h100', '--plot', r'{tmp_path / 'x.png'}']))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=300)
    lines = out.stdout.strip().splitlines()
    assert "plots need matplotlib" in lines[0] and "pip install 'mlsysim_sym[plot]'" in lines[0]
    assert "needs pandas" in lines[1] and "mlsysim_sym[plot]" in lines[1]
    assert lines[-1] == "2"
    assert "mlsysim-sym: error: --plot needs matplotlib" in out.stderr
    assert not (tmp_path / "x.png").exists()


@pytest.fixture(scope="module")
def point():
    return ms.predict("llama-3-8b", "h100", batch=4, seq_len=2048)


def test_prediction_html_has_units_bottleneck_and_sources(point):
    h = point._repr_html_()
    assert "Prediction: llama-3-8b on nvidia-h100-sxm" in h
    assert "bottleneck: <b>Memory</b>" in h and "memory-bandwidth-bound" in h
    tpot = point.time_per_output_token.to("ms").magnitude
    assert f"<td style='text-align:right'>{tpot:.4g}</td><td style='text-align:left'>ms</td>" in h
    # registry values with their sources, and the equations' citations
    assert "<code>peak.fp16</code>" in h and "<code>memory.0.bandwidth</code>" in h
    src = point.hardware.provenance("memory.0.bandwidth").source
    assert src in h
    assert "williams2009roofline" in h or any(k in h for k in point.system.references())


def test_html_shows_the_uncertainty_bands():
    r = ms.predict("llama-3-8b", "h100", batch=4, uncertainty=200)
    h = r._repr_html_()
    b = r.bands["time_per_output_token"]
    assert "<th>p10</th><th>p50</th><th>p90</th>" in h
    assert f"<td style='text-align:right'>{b.p90.to(b.p50.units).magnitude:.4g}</td>" in h


def test_vectorised_html_points_to_the_frame():
    r = ms.predict("llama-3-8b", "h100", batch=np.array([1, 64, 512]))
    h = r._repr_html_()
    assert "sweep over batch (3 values)" in h and "to_frame()" in h
    assert "Memory (2), Memory (1)" not in h  # labels are counted, not listed per point
    assert "(3 points)" in h


def test_train_serve_fleet_html():
    t = ms.train("llama-3-8b", "h100", devices=8, global_batch=64)
    h = t._repr_html_()
    assert "TrainResult: llama-3-8b" in h and "largest term" in h and "step_time" in h
    assert "narayanan2021megatron" in h  # the equations' citations
    s = ms.serve("llama-3-8b", "h100", qps=2, input_tokens=512, output_tokens=128)
    h = s._repr_html_()
    assert "ServeResult: llama-3-8b on nvidia-h100-sxm" in h and "time_per_output_token" in h
    assert "bottleneck" in h
    v = ms.predict("resnet-50", "h100", batch=32)
    h = v._repr_html_()
    assert "VisionPrediction: resnet-50 on nvidia-h100-sxm" in h and "family vision" in h
    assert "<code>peak.fp16</code>" in h or "registry values used" in h


def test_registry_entry_html():
    hw = ms.registry.hardware("h100")
    h = hw._repr_html_()
    assert hw.display_name in h and "<code>peak.bf16</code>" in h
    assert hw.provenance("peak.bf16").source in h
    m = ms.registry.model("llama-3-8b")
    assert "llama-3-8b" in m._repr_html_()


def test_latex_of_wall_equation_system_is_mathjax_ready():
    w = ms.walls.serving._repr_latex_()
    assert w.startswith("$$\\begin{aligned}") and w.endswith("\\end{aligned}$$")
    assert "\\cite" not in w and "tabular" not in w and "%" not in w
    assert w.count("&=") == len(ms.walls.serving.equations)
    eq = ms.walls.serving.equations[0]
    assert eq._repr_latex_() == f"$${eq.latex()}$$"
    from mlsysim_sym.scenarios import serving_system
    sys_tex = serving_system()._repr_latex_()
    assert sys_tex.count("&=") == len(serving_system().order)


def test_ipython_formatter_html_for_prediction_latex_for_wall(point):
    formatters = pytest.importorskip("IPython.core.formatters")
    fmt = formatters.DisplayFormatter()
    data, _meta = fmt.format(point)
    assert "text/html" in data and "bottleneck" in data["text/html"]
    data, _meta = fmt.format(ms.walls.memory)
    assert "text/latex" in data and data["text/latex"].startswith("$$")
    data, _meta = fmt.format(ms.registry.hardware("h100"))
    assert "text/html" in data


def test_sweep_to_frame_units_in_column_names():
    pytest.importorskip("pandas")
    b = np.array([1, 8, 64, 512])
    r = ms.predict("llama-3-8b", "h100", batch=b, seq_len=2048)
    df = r.to_frame()
    assert len(df) == 4
    assert list(df["batch"]) == list(b.astype(float))
    assert np.allclose(df["time_per_output_token [ms]"],
                       r.time_per_output_token.to("ms").magnitude)
    assert "memory_footprint [GB]" in df.columns and "memory_utilization" in df.columns
    assert list(df["feasible"]) == list(r.feasible) and set(df["bottleneck"]) == {"Memory"}
    # a 2-D sweep flattens to one row per point
    g = ms.predict("llama-3-70b", "h100", batch=b[:, None], tp=np.array([4, 8]))
    df = g.to_frame()
    assert len(df) == 8 and {"batch", "tensor_parallel"} <= set(df.columns)
    assert np.allclose(df["ttft [ms]"], np.ravel(g.ttft.to("ms").magnitude))
    # a scalar result is one row
    assert len(ms.train("llama-3-8b", "h100", devices=8, global_batch=64).to_frame()) == 1


@pytest.mark.parametrize("model,kw", [("llama-3-8b", {}), ("mixtral-8x7b", {"tp": 2}),
                                      ("llama-3-70b", {"phase": "prefill"})])
def test_sweep_frame_reads_arrays_and_codes_as_to_dict_would(model, kw):
    """A sweep's to_frame reads its outputs as arrays from one kernel call and its bottleneck
    as codes (a Categorical); the frame equals the one built from to_dict's lists."""
    pd = pytest.importorskip("pandas")
    from mlsysim_sym import display
    from mlsysim_sym.vocabulary import BOTTLENECKS
    r = ms.predict(model, "h100", batch=np.array([1, 8, 64, 512, 8192])[:, None],
                   seq_len=np.array([512, 32768]), **kw)
    fast = r.to_frame()
    assert isinstance(fast["bottleneck"].dtype, pd.CategoricalDtype)
    assert list(fast["bottleneck"].cat.categories) == list(BOTTLENECKS)
    assert list(fast["bottleneck"].astype(str)) == list(np.ravel(r.bottleneck))
    qs, labels = display.frame_columns(r)    # the generic path, through to_dict()
    assert isinstance(labels["bottleneck"], np.ndarray) and labels["bottleneck"].dtype == np.int8
    slow = display.result_frame(types.SimpleNamespace(
        frame_columns=lambda: (qs, labels), inputs=r.inputs))
    pd.testing.assert_frame_equal(fast, slow)


def test_plan_html_and_frame():
    p = ms.best_parallelism("llama-3-8b", "h100", 256, devices=16, recompute=("none",),
                            zero_stages=(0, 1))
    h = p._repr_html_()
    assert f"Plan: {p.feasible_count} feasible of {p.evaluated} layouts" in h
    assert "<th>step_time [s]</th>" in h and "more rows" in h
    pytest.importorskip("pandas")
    df = p.to_frame()
    assert len(df) == len(p.table)
    assert df["step_time [s]"].iloc[0] == pytest.approx(p.best["step_time"].to("s").magnitude)
    assert "memory_per_device [GB]" in df.columns and df["tp"].iloc[0] == p.best["tp"]


def _row(mid, category, source, measured, unit, in_sample, loso, band):
    """A validation row over a stand-in case: only the fields the report reads (id, category,
    source, measured, unit); the report itself is never run here (10+ CPU-minutes)."""
    case = types.SimpleNamespace(id=mid, category=category, source=source, measured=measured,
                                 unit=unit)
    return ValidationRow(case=case, in_sample=in_sample, loso=loso, band=band)


def test_validation_report_to_frame():
    pytest.importorskip("pandas")
    rows = [_row("a", "training", "src1", 100.0, "TFLOP/s", 110.0, 90.0, (80.0, 100.0, 120.0)),
            _row("b", "inference", "src2", 20.0, "ms", 19.0, 25.0, (float("nan"),) * 3)]
    ext = [_row("c", "training", "src3", 50.0, "TFLOP/s", 55.0, float("nan"),
                (40.0, 52.0, 60.0))]
    df = ValidationReport(rows=rows, not_covered=[], external=ext).to_frame()
    assert list(df["id"]) == ["a", "b", "c"]
    assert list(df["set"]) == ["calibration", "calibration", "external"]
    assert df["in_sample_error [%]"].tolist() == pytest.approx([10.0, -5.0, 10.0])
    assert df["loso_error [%]"].tolist()[:2] == pytest.approx([-10.0, 25.0])
    assert list(df["unit"]) == ["TFLOP/s", "ms", "TFLOP/s"]
    assert df["in_band"].tolist() == [True, None, True]


def test_training_step_bytes_are_the_memory_roof_traffic():
    # the step's roofline point reads training_step_flops / _bytes; they are the work the
    # compute roof and the traffic the memory roof are charged with
    t = ms.train("llama-3-8b", "h100", devices=8, global_batch=64, seq_len=4096)
    inp = t.inputs()
    achieved = inp["memory_bandwidth"] * inp["memory_efficiency"]
    mem_time = t.breakdown()["compute_memory_bound"] + t.breakdown()["optimizer"]
    assert (t.step_bytes / achieved).to("s").magnitude == pytest.approx(
        mem_time.to("s").magnitude, rel=1e-9)
    per_device = (t.hardware_flops_per_token * inp["global_batch"] * inp["sequence_length"]
                  / t._quantity("devices"))
    assert t.step_flops.to("FLOP").magnitude == pytest.approx(per_device.to("FLOP").magnitude,
                                                               rel=1e-9)
