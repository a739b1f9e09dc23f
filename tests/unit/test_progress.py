"""Progress of long runs: the reporter (terminal and non-terminal), and what validate and
calibrate report. No real validation runs here: the fits are on a handful of synthetic cases."""

from __future__ import annotations

import io

import numpy as np
import pytest

from mlsysim_sym.progress import Progress, elapsed_text


class _Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_elapsed_text():
    assert elapsed_text(0) == "0 s" and elapsed_text(59.9) == "59 s"
    assert elapsed_text(245) == "4 min 05 s"


def test_not_a_terminal_writes_a_few_lines_for_many_steps():
    """41 folds over seven minutes on a pipe: the first line, one a minute, and the end."""
    out, clock = io.StringIO(), _Clock()
    p = Progress("validate", out, live=False, interval=60, clock=clock)
    for i in range(41):
        p(f"[{i + 1}/41] without source-{i}")
        clock.t += 10.5  # 41 folds, 7.2 minutes
    p.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "validate: [1/41] without source-0 (0 s)"
    assert lines[-1] == "validate: done (7 min 10 s)"
    assert 3 <= len(lines) <= 10 and "\r" not in out.getvalue()
    assert any(line.startswith("validate: [7/41]") for line in lines)  # ~1 min in


def test_terminal_redraws_one_line_and_ends_with_a_newline():
    out, clock = io.StringIO(), _Clock()
    p = Progress("calibrate", out, live=True, tick=None, clock=clock)
    p("round 1: fitting 3 parameters to 20 measurements, 1 evaluations")
    clock.t += 0.01
    p("round 1: fitting 3 parameters to 20 measurements, 2 evaluations")  # within 0.1 s: skipped
    clock.t += 5
    p("round 1: fitting 3 parameters to 20 measurements, 30 evaluations")
    p.close()
    text = out.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n")  # three draws of one line (tqdm)
    assert text.split("\r")[-1].rstrip() == "calibrate: done (5 s)"
    assert "2 evaluations" not in text and "30 evaluations (5 s)" in text


def test_terminal_clock_ticks_between_steps():
    out = io.StringIO()
    with Progress("validate", out, live=True, tick=0.01) as p:
        p("[1/2] without a")
        import time
        time.sleep(0.1)
    assert p.lines >= 3 and out.getvalue().endswith("\n")


def test_a_stream_that_is_not_a_terminal_is_detected():
    p = Progress("x", io.StringIO())
    assert p.live is False
    p.close()


@pytest.mark.parametrize("live", [True, False])
def test_nothing_reported_leaves_nothing(live):
    """A run that fails before its first step leaves only its own error on stderr."""
    out = io.StringIO()
    p = Progress("calibrate", out, live=live, tick=0.01)
    import time
    time.sleep(0.05)
    p.close("stopped")
    assert out.getvalue() == ""


# ---- what validate and calibrate report (synthetic cases: no real fit) -------------------------

def _cases(n_sources=3, per_source=2):
    from mlsysim_sym.calibration.cases import Case
    from mlsysim_sym.calibration.measurements import Measurement
    cases = []
    for s in range(n_sources):
        for k in range(per_source):
            m = Measurement(id=f"m{s}-{k}", category="tinyml", value=10.0 * (1 + 0.1 * k),
                            unit="ms", metric="latency", source=f"paper-{s}", spec={})
            cases.append(Case(m, "tinyml", ("tinyml_mac_efficiency",),
                              lambda p, c=1.0 + 0.05 * s: c * 5.0 /
                              np.asarray(p["tinyml_mac_efficiency"], dtype=float)))
    return cases


def test_validate_reports_every_fold_with_its_number():
    from mlsysim_sym.calibration import validate
    lines = []
    validate(_cases(), cross_generation=False, bands=False, external=False,
             progress=lines.append)
    folds = [line for line in lines if line.startswith("[")]
    assert folds[-1].startswith("[3/3] without paper-2: 2 rows predicted")
    assert [f for f in folds if "rows predicted" in f] == [
        f"[{i}/3] without paper-{i - 1}: 2 rows predicted" for i in (1, 2, 3)]
    assert lines[0].startswith("in sample: 6 measurements")


def test_calibrate_reports_rounds_and_evaluations():
    from mlsysim_sym.calibration import calibrate
    lines = []
    result = calibrate(_cases(), parameters=["tinyml_mac_efficiency"], progress=lines.append)
    assert result.parameters["tinyml_mac_efficiency"].value > 0
    assert lines and lines[0].startswith("round 1: fitting 1 parameters to 6 measurements, 1 ")
    counts = [int(line.rsplit(", ", 1)[1].split()[0]) for line in lines
              if line.startswith("round 1:")]
    assert counts == list(range(1, len(counts) + 1)) and len(counts) > 1


def test_calibrate_without_progress_gives_the_same_fit():
    from mlsysim_sym.calibration import calibrate
    a = calibrate(_cases(), parameters=["tinyml_mac_efficiency"])
    b = calibrate(_cases(), parameters=["tinyml_mac_efficiency"], progress=lambda line: None)
    assert a.parameters["tinyml_mac_efficiency"].value == pytest.approx(
        b.parameters["tinyml_mac_efficiency"].value, rel=1e-12)


# ---- the tqdm bar, reporter(), and the searches that report ----------------------------------

class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_terminal_bar_counts_steps_of_a_known_total():
    """``[i/n]`` lines move a tqdm bar: position, total and percentage, then the message."""
    out, clock = io.StringIO(), _Clock()
    p = Progress("validate", out, live=True, tick=None, clock=clock)
    p("[1/4] without paper-a: 3 rows predicted")
    clock.t += 30
    p("[2/4] without paper-b: 5 rows predicted")
    p.close()
    draws = [d.rstrip() for d in out.getvalue().split("\r") if d]
    assert draws[0].startswith("validate: without paper-a: 3 rows predicted  25%|")
    assert draws[0].endswith("| 1/4 (0 s)")
    assert " 50%|" in draws[1] and draws[1].endswith("| 2/4 (30 s)")
    assert draws[-1].startswith("validate: done 100%|") and draws[-1].endswith("4/4 (30 s)")
    assert out.getvalue().endswith("\n")


def test_reporter():
    from mlsysim_sym.progress import reporter
    say, close = reporter(None, "plan")
    assert say is None
    close()
    lines = []
    say, close = reporter(lines.append, "plan")
    say("x")
    close()
    assert lines == ["x"]
    say, close = reporter(True, "plan")  # pytest's stderr is not a terminal: silent
    assert not isinstance(say, Progress)
    say("[1/2] step")
    close()
    with pytest.raises(TypeError, match="progress must be True, False, None or a callable"):
        reporter("yes", "plan")


def test_plan_search_reports_each_recompute_and_zero_combination():
    import mlsysim_sym as ms
    lines = []
    plan = ms.best_parallelism("llama-3-8b", "h100", 64, devices=8, seq_len=2048,
                               recompute=("none", "full"), zero_stages=(0, 1), tp=(1, 2, 4, 8),
                               progress=lines.append)
    quiet = ms.best_parallelism("llama-3-8b", "h100", 64, devices=8, seq_len=2048,
                                recompute=("none", "full"), zero_stages=(0, 1), tp=(1, 2, 4, 8))
    assert [line.split(":")[0] for line in lines] == [
        "[1/4] recompute none, ZeRO 0", "[2/4] recompute none, ZeRO 1",
        "[3/4] recompute full, ZeRO 0", "[4/4] recompute full, ZeRO 1"]
    fits = sum(int(line.split(": ")[1].split()[0]) for line in lines)
    assert fits == plan.feasible_count == quiet.feasible_count
    assert plan.evaluated == quiet.evaluated == 4 * int(lines[0].split(" of ")[1].split()[0])


def test_sweep_progress_true_is_a_bar_on_a_terminal_and_silent_otherwise(monkeypatch, capsys):
    import numpy as np
    import mlsysim_sym as ms
    ms.sweep("predict", model="llama-3-8b", hardware="h100", batch=np.arange(1, 201),
             chunk_size=50, progress=True)
    assert capsys.readouterr().err == ""  # not a terminal
    term = _Terminal()
    monkeypatch.setattr("sys.stderr", term)
    ms.sweep("predict", model="llama-3-8b", hardware="h100", batch=np.arange(1, 201),
             chunk_size=50, progress=True)
    text = term.getvalue()
    assert "sweep: 100%" in text and "200/200" in text and text.endswith("\n")


def test_cli_is_silent_when_stderr_is_not_a_terminal(capsys):
    from mlsysim_sym.cli import main
    assert main(["plan", "llama-3-8b", "h100", "--devices", "8", "--global-batch", "64",
                 "--tp", "8", "--top", "2"]) == 0
    assert capsys.readouterr().err == ""


def test_cli_plan_draws_a_bar_on_a_terminal(monkeypatch, capsys):
    from mlsysim_sym.cli import main
    term = _Terminal()
    monkeypatch.setattr("sys.stderr", term)
    assert main(["plan", "llama-3-8b", "h100", "--devices", "8", "--global-batch", "64",
                 "--tp", "8", "--top", "2"]) == 0
    draws = [d.rstrip() for d in term.getvalue().split("\r") if d.strip()]
    assert draws[-1].startswith("plan: done 100%|") and "12/12" in draws[-1]
    assert main(["plan", "llama-3-8b", "h100", "--devices", "8", "--global-batch", "64",
                 "--tp", "8", "--top", "2", "--json"]) == 0
    assert term.getvalue().count("plan: done") == 1  # --json: no bar
