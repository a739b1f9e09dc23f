"""Figures (issue 18, part 2): every plot kind is written as a PNG, and what it draws is what the
result reports (operating points = FLOPs / bytes and FLOPs / time of the result, breakdown bars
sum to the step time, the Pareto front is pareto_front's). Skipped without the [plot] extra."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import mlsysim_sym as ms  # noqa: E402
from mlsysim_sym import plot as mp  # noqa: E402
from mlsysim_sym.cli import main  # noqa: E402
from mlsysim_sym.solvers.optimize import pareto_front  # noqa: E402

BATCHES = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])


def _png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    return data


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def point():
    return ms.predict("llama-3-8b", "h100", batch=8, seq_len=2048)


@pytest.fixture(scope="module")
def batch_sweep():
    return ms.predict("llama-3-8b", "h100", batch=BATCHES, seq_len=2048)


@pytest.fixture(scope="module")
def step():
    # Llama 3 70B on 64 H100s, TP 8 x PP 8 (the CLI example), 4k tokens: fits in 80 GB
    return ms.train("llama-3-70b", "h100", devices=64, tp=8, pp=8, global_batch=256,
                    seq_len=4096)


def _points(ax, label):
    for line in ax.get_lines():
        if line.get_label().startswith(label):
            return line.get_xdata(), line.get_ydata()
    raise AssertionError(f"no line labelled {label!r}: {[l.get_label() for l in ax.get_lines()]}")


def test_roofline_prediction_png(point, tmp_path):
    path = tmp_path / "roofline.png"
    ax = point.plot(path=path)
    _png(path)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "arithmetic intensity [FLOP/B]"
    assert ax.get_ylabel() == "attained performance [TFLOP/s]"
    for phase, t in (("prefill", point.ttft), ("decode", point.time_per_output_token)):
        out = point.outputs()
        x, y = _points(ax, phase)
        ai = (out[f"{phase}_flops"] / out[f"{phase}_bytes"]).to("FLOP/B").magnitude
        perf = (out[f"{phase}_flops"] / t).to("TFLOP/s").magnitude
        assert x[0] == pytest.approx(ai, rel=1e-9) and y[0] == pytest.approx(perf, rel=1e-9)
    # the roof of the precision used is the registry's peak and bandwidth
    x, y = _points(ax, "roofline at fp16")
    hw = point.hardware
    assert max(y) == pytest.approx(hw.peak_flops("fp16").to("TFLOP/s").magnitude)
    assert y[0] / x[0] == pytest.approx(hw.memory_bandwidth.to("TB/s").magnitude)
    # decode at batch 8 sits left of the ridge, prefill right of it
    ridge = hw.peak_flops("fp16").to("TFLOP/s").magnitude / hw.memory_bandwidth.to("TB/s").magnitude
    assert _points(ax, "decode")[0][0] < ridge < _points(ax, "prefill")[0][0]


def test_roofline_sweep_and_tp_group(batch_sweep, tmp_path):
    path = tmp_path / "roofline_sweep.png"
    ax = mp.roofline(batch_sweep, path=path)
    _png(path)
    x, _y = _points(ax, "decode")
    assert len(x) == int(np.sum(batch_sweep.feasible)) or len(x) == len(BATCHES)
    assert np.all(np.diff(x) > 0)  # arithmetic intensity grows with the batch
    r = ms.predict("llama-3-70b", "h100", batch=16, tp=8)
    ax = mp.roofline(r, path=tmp_path / "roofline_tp.png")
    x, y = _points(ax, "roofline at fp16")
    assert max(y) == pytest.approx(8 * r.hardware.peak_flops("fp16").to("TFLOP/s").magnitude)
    assert "TP group of 8" in ax.get_title()


def test_roofline_training_step(step, tmp_path):
    path = tmp_path / "roofline_train.png"
    ax = step.plot(kind="roofline", path=path)
    _png(path)
    x, y = _points(ax, "training step")
    assert x[0] == pytest.approx((step.step_flops / step.step_bytes).to("FLOP/B").magnitude)
    assert y[0] == pytest.approx((step.step_flops / step.step_time).to("TFLOP/s").magnitude)
    # per-device attained rate / its peak is the hardware FLOPs utilisation
    assert y[0] / step.hardware.peak_flops("bf16").to("TFLOP/s").magnitude == pytest.approx(
        float(step.hfu.magnitude), rel=1e-6)


def test_roofline_cnn(tmp_path):
    r = ms.predict("resnet-50", "h100", batch=32)
    ax = r.plot(path=tmp_path / "roofline_cnn.png")
    x, y = _points(ax, "vision forward pass")
    assert x[0] == pytest.approx((r.flops / r.bytes_moved).to("FLOP/B").magnitude)
    assert y[0] == pytest.approx((r.flops / r.latency).to("TFLOP/s").magnitude)


def test_sweep_shades_bottlenecks(batch_sweep, tmp_path):
    path = tmp_path / "sweep.png"
    ax = batch_sweep.plot(y="time_per_output_token", path=path)
    _png(path)
    assert ax.get_xlabel() == "batch [sequences]" and ax.get_xscale() == "log"
    assert ax.get_ylabel() == "time per output token [ms]"
    labels = [p.get_label() for p in ax.patches]
    assert "memory-bandwidth-bound" in labels
    assert "does not fit in memory" in labels  # 8B at 2k context outgrows 80 GB past ~180
    x, y = _points(ax, "time per output token")
    assert np.allclose(y, batch_sweep.time_per_output_token.to("ms").magnitude)


def test_sweep_compute_region_and_aliases(tmp_path):
    r = ms.predict("llama-3-8b", "h100", batch=1, seq_len=np.array([16, 64, 256, 1024, 4096]),
                   phase="prefill")
    ax = r.plot(kind="sweep", x="seq_len", y="ttft", path=tmp_path / "sweep_context.png")
    assert ax.get_xlabel() == "context length [token]"
    labels = {p.get_label() for p in ax.patches}
    assert "compute-bound" in labels


def test_sweep_two_knobs_and_chips(tmp_path):
    g = ms.predict("llama-3-70b", "h100", batch=np.array([1, 4, 16, 64, 256])[:, None],
                   tp=np.array([4, 8]))
    ax = g.plot(kind="sweep", x="batch", y="decode_throughput", path=tmp_path / "sweep2d.png")
    assert {"tp = 4", "tp = 8"} <= {l.get_label() for l in ax.get_lines()}
    assert ax.get_ylabel() == "decode throughput [tok/s]"
    chips = [ms.predict("llama-3-8b", h, batch=8) for h in ("a100", "h100", "b200")]
    path = tmp_path / "chips.png"
    ax = mp.sweep(chips, "time_per_output_token", path=path)
    _png(path)
    heights = [p.get_height() for p in ax.patches if p.get_height() > 0]
    assert heights == pytest.approx([c.time_per_output_token.to("ms").magnitude for c in chips])
    assert ax.get_ylabel() == "time per output token [ms]"


def test_pareto_front_matches_solver(tmp_path):
    batches = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256])[:, None]
    g = ms.predict("llama-3-70b", "h100", batch=batches, tp=np.array([4, 8]), seq_len=4096)
    path = tmp_path / "pareto.png"
    ax = g.plot(kind="pareto", path=path)
    _png(path)
    x, y = _points(ax, "Pareto front")
    t = np.asarray(g.time_per_output_token.to("ms").magnitude, dtype=float).ravel()
    thr = np.asarray(g.outputs()["decode_throughput"].magnitude, dtype=float).ravel()
    fits = np.asarray(g.feasible).ravel()
    idx = pareto_front(np.where(fits, t, np.nan), thr, minimize=(True, False))
    assert np.allclose(x, t[idx]) and np.allclose(y, thr[idx])
    assert "lower is better" in ax.get_xlabel() and "[ms]" in ax.get_xlabel()


def test_tornado(point, tmp_path):
    s = ms.sensitivity(point, "time_per_output_token")
    path = tmp_path / "tornado.png"
    ax = s.plot(path=path, top=8)
    _png(path)
    assert len(ax.patches) == 16  # +10% and -10% bars for each of the top 8 inputs
    top_name, top_e = s.ranked()[0]
    assert ax.get_yticklabels()[-1].get_text() == top_name  # largest at the top
    widths = sorted((p.get_width() for p in ax.patches), key=abs)
    assert abs(widths[-1]) == pytest.approx(abs(float(top_e)) * 10)
    assert "[%]" in ax.get_xlabel()


def test_breakdown_sums_to_step_time(step, tmp_path):
    path = tmp_path / "breakdown.png"
    ax = step.plot(path=path)
    _png(path)
    total = sum(p.get_width() for p in ax.patches)
    assert total == pytest.approx(step.step_time.to("s").magnitude, rel=1e-9)
    assert ax.get_xlabel() == "time per training step [s]"
    labels = set(ax.get_legend_handles_labels()[1])
    assert {"TP communication (exposed)", "pipeline bubble", "attention core"} <= labels


def test_breakdown_of_a_parallelism_sweep(tmp_path):
    r = ms.train("llama-3-70b", "h100", devices=64, tp=np.array([2, 4, 8]), pp=8,
                 global_batch=256, seq_len=4096, zero_stage=1)
    path = tmp_path / "breakdown_sweep.png"
    ax = r.plot(kind="breakdown", path=path)
    _png(path)
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert len(ticks) == 3 and ticks[0].startswith("tp 2")
    sums = np.zeros(3)
    for p in ax.patches:
        sums[int(round(p.get_y() + p.get_height() / 2))] += p.get_width()
    steps = r.breakdown(unchecked=True)["step_time"].to("s").magnitude
    assert np.allclose(sums, steps, rtol=1e-9)


def test_errors_name_the_argument(point, batch_sweep):
    with pytest.raises(ValueError, match="kind='pie'.*allowed: roofline, sweep"):
        point.plot(kind="pie")
    with pytest.raises(ValueError, match="vectorised result"):
        point.plot(kind="sweep")
    with pytest.raises(ValueError, match="x='prompt_length'.*allowed: batch"):
        batch_sweep.plot(kind="sweep", x="prompt_length")
    with pytest.raises(ValueError, match="y='nonsense'"):
        batch_sweep.plot(kind="sweep", y="nonsense")
    diffusion = ms.predict("dit-xl-2-256", "h100", batch=1)
    with pytest.raises(ValueError, match="roofline needs"):
        diffusion.plot(kind="roofline")


def test_cli_plot(tmp_path, capsys):
    path = tmp_path / "cli.png"
    assert main(["predict", "llama-3-8b", "h100", "--batch", "8", "--plot", str(path)]) == 0
    _png(path)
    assert f"wrote {path}" in capsys.readouterr().err
    path = tmp_path / "cli_tornado.png"
    assert main(["sensitivity", "llama-3-8b", "h100", "--plot", str(path)]) == 0
    _png(path)


# ---- every plot kind from the command line (the README's "Plots and notebooks" commands) -------
CLI_PLOTS = {
    "roofline": ["predict", "llama-3-8b", "h100", "--batch", "8"],
    "sweep": ["predict", "llama-3-8b", "h100", "--batch", "1,2,4,8,16,32,64,128,256",
              "--plot-y", "time_per_output_token"],
    "pareto": ["predict", "llama-3-70b", "h100", "--tp", "8", "--batch", "1,4,16,64,256",
               "--plot-kind", "pareto"],
    "tornado": ["sensitivity", "llama-3-8b", "h100"],
    "breakdown": ["train", "llama-3-70b", "h100", "--devices", "64", "--tp", "8", "--pp", "8",
                  "--global-batch", "256", "--seq-len", "4096"],
}


@pytest.mark.parametrize("kind", mp.KINDS)
def test_cli_writes_every_plot_kind(kind, tmp_path, capsys):
    path = tmp_path / f"{kind}.png"
    assert main([*CLI_PLOTS[kind], "--plot", str(path)]) == 0
    _png(path)
    assert f"wrote {path}" in capsys.readouterr().err


def test_cli_batch_list_is_a_sweep(capsys):
    assert main(["predict", "llama-3-8b", "h100", "--batch", "1,8,64"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("3 points") and out[1].split()[:2] == ["batch", "latency"]
    rows = [line.split() for line in out[3:]]
    assert [r[0] for r in rows] == ["1", "8", "64"]
    r = ms.predict("llama-3-8b", "h100", batch=np.array([1, 8, 64]))
    assert [float(x[1]) for x in rows] == pytest.approx(r.latency.to("ms").magnitude, rel=1e-3)


def test_cli_sweep_plot_draws_the_chosen_output(tmp_path):
    path = tmp_path / "ttft.png"
    assert main(["predict", "llama-3-8b", "h100", "--seq-len", "512,2048,8192", "--phase",
                 "prefill", "--plot", str(path), "--plot-y", "ttft"]) == 0
    _png(path)


@pytest.mark.parametrize("argv, message", [
    (["--batch", "8", "--plot-kind", "sweep"], "needs a list to sweep"),
    (["--batch", "1,8", "--plot-kind", "roofline", "--plot-y", "ttft"], "--plot-y chooses"),
    (["--batch", "1,8", "--plot-kind", "pareto"], "give --plot"),
    (["--batch", "1,8", "--uncertainty"], "--uncertainty needs one --batch"),
    (["--batch", "1,,8"], "expected N or N,N"),
    (["--batch", "1,0"], "must be at least 1"),
])
def test_cli_plot_option_errors(argv, message, tmp_path, capsys):
    args = ["predict", "llama-3-8b", "h100", *argv]
    if "--plot-y" in argv:
        args += ["--plot", str(tmp_path / "x.png")]
    try:
        status = main(args)
    except SystemExit as exc:  # click's usage errors
        status = exc.code
    assert status == 2
    assert message in capsys.readouterr().err
