"""The command line: text, --json, --explain, and one-line errors with exit status 2."""

import io
import json
import os
import shutil
import subprocess
import sys

import pytest

from mlsysim_sym.cli import main


def test_predict_text(capsys):
    assert main(["predict", "llama-3-8b", "h100"]) == 0
    out = capsys.readouterr().out
    assert "time per output token" in out and "bottleneck" in out and "Memory" in out


def test_predict_json(capsys):
    assert main(["predict", "llama-3-8b", "h100", "--batch", "4", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["time_per_output_token"]["unit"] == "ms"
    assert d["bottleneck"] in ("Compute", "Memory") and d["feasible"] is True


def test_predict_explain(capsys):
    assert main(["predict", "llama-3-8b", "h100", "--explain"]) == 0
    assert "decode_memory_time :=" in capsys.readouterr().out


@pytest.mark.parametrize("argv,needle", [
    (["predict", "llama-3-8", "h100"], "llama-3-8b"),
    (["predict", "llama-3-8b", "h100", "--precision", "fp3"], "precision"),
])
def test_errors_are_one_line_with_status_2(capsys, argv, needle):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlsysim-sym: error:") and needle in err and "Traceback" not in err


def test_negative_batch_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as e:
        main(["predict", "llama-3-8b", "h100", "--batch", "-3"])
    assert e.value.code == 2
    assert "at least 1" in capsys.readouterr().err


def test_equations_markdown(capsys):
    assert main(["equations", "serving", "--markdown"]) == 0
    assert "Wall 4: Serving" in capsys.readouterr().out


def test_synthesize_json(capsys):
    assert main(["synthesize", "llama-3-8b", "--target", "tpot=20 ms", "--unknown",
                 "memory_bandwidth", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["memory_bandwidth"]["feasible"] is True
    assert d["memory_bandwidth"]["value"]["unit"] == "GB/s"
    assert d["memory_bandwidth"]["binding_target"] == "time_per_output_token"


def test_synthesize_bad_target_is_one_line(capsys):
    assert main(["synthesize", "llama-3-8b", "--target", "tpot=20"]) == 2
    err = capsys.readouterr().err
    assert "no unit" in err and "ms" in err


def test_sensitivity_json(capsys):
    assert main(["sensitivity", "llama-3-8b", "h100", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    # memory-bound: T = m + phi c + T0, so the memory time's share is 1 - T0/T - phi c/T:
    # -1 diluted by the fixed overhead's and the exposed compute's shares
    e = d["elasticities"]
    assert e["memory_bandwidth"] == pytest.approx(
        -1.0 + e.get("fixed_overhead", 0.0) - e.get("peak_flops", 0.0), rel=1e-9, abs=1e-12)
    assert d["binding"] == {"time_per_output_token": "Memory"}


def test_size_json(capsys):
    assert main(["size", "llama-3-8b", "h100", "a100-80gb", "--qps", "20", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["feasible"] is True and isinstance(d["devices"], int)
    assert {c["hardware"] for c in d["candidates"]} == {"nvidia-h100-sxm", "nvidia-a100-80gb-sxm"}


# ---- registry show / list --------------------------------------------------------------------

def _all_names():
    """Every entry of every kind by its name, and by its first alias when it has one."""
    from mlsysim_sym import registry
    from mlsysim_sym.registry.names import KINDS
    reg = registry.get_registry()
    return [n for kind in KINDS for obj in reg.objects(kind) for n in (obj.name, *obj.aliases[:1])]


def test_registry_show_works_for_every_name_of_every_kind(capsys):
    """Every entry of every kind (hardware, model, datacenter, fabric, node, cluster), by name
    and by alias: exit 0 and a description that starts with the canonical name (it raised
    AttributeError for every NVIDIA chip: a chip's architecture is a name, not a block). The
    registry tests describe every entry through the library too."""
    from mlsysim_sym import registry
    names = _all_names()
    assert len(names) > 250
    for name in names:
        assert main(["registry", "show", name]) == 0, name
        out = capsys.readouterr().out
        obj = registry.get_registry().find(name)
        assert out.startswith(f"{obj.name}: "), name
    for sid in registry.list_sources():
        assert main(["registry", "show", sid]) == 0, sid
        assert capsys.readouterr().out.startswith(f"{sid}: ")


def test_registry_show_unknown_name_is_one_line(capsys):
    assert main(["registry", "show", "h1000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean" in err and "h100" in err


@pytest.mark.parametrize("argv,needles", [
    (["registry", "list", "hardware", "--vendor", "nvdia"], ["unknown vendor 'nvdia'", "nvidia"]),
    (["registry", "list", "hardware", "--tier", "datacentre"], ["unknown tier", "datacenter"]),
    (["registry", "list", "models", "--family", "llm"], ["unknown family", "decoder"]),
    (["registry", "list", "hardware", "--family", "moe"], ["--family", "--vendor, --tier"]),
    (["registry", "list", "models", "--vendor", "nvidia"], ["--vendor", "--family"]),
])
def test_registry_list_unknown_filter_is_an_error_with_close_matches(capsys, argv, needles):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlsysim-sym: error:") and err.count("\n") == 1
    for needle in needles:
        assert needle in err


def test_registry_list_filters_and_kinds(capsys):
    assert main(["registry", "list", "hardware", "--vendor", "NVIDIA", "--tier", "datacenter"]) == 0
    out = capsys.readouterr().out
    assert "nvidia-h100-sxm" in out and "st-stm32f746" not in out
    # a known vendor and a known tier with nothing in common: empty, said on stderr, exit 0
    assert main(["registry", "list", "hardware", "--vendor", "st", "--tier", "datacenter"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "no hardware entries with vendor=st, tier=datacenter" in \
        captured.err
    for kind, needle in [("nodes", "dgx"), ("fabrics", ""), ("sources", "hw-nvidia-h100-page"),
                         ("models", "llama-3-8b"), ("datacenters", ""), ("clusters", "")]:
        assert main(["registry", "list", kind]) == 0
        out = capsys.readouterr().out
        assert out.strip() and needle in out


# ---- user registry files -----------------------------------------------------------------------

@pytest.mark.parametrize("text,needle", [
    ("", "is empty"),
    ("# only a comment\n", "is empty"),
    ("[]\n", "holds no entries"),
    ("kind: hardware\nentries: []\n", "holds no entries"),
    ("just a string\n", "holds a text at the top level"),
    ("- 1\n- 2\n", "cannot tell what kind of entry"),
    ("name: my-chip\nvendor: acme\n", "one entry without a list around it"),
])
def test_cli_user_file_without_entries_is_one_line_naming_the_file(capsys, tmp_path,
                                                                   monkeypatch, text, needle):
    from mlsysim_sym import registry
    monkeypatch.setattr(registry, "_registry", None)
    path = tmp_path / "my_chip.yaml"
    path.write_text(text)
    assert main(["predict", "llama-3-8b", "my-chip", "--hardware-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlsysim-sym: error:") and err.count("\n") == 1
    assert str(path) in err and needle in err and "expected" in err


def test_cli_unknown_name_after_a_user_file_names_the_file(capsys, tmp_path, monkeypatch):
    from mlsysim_sym import registry
    from tests.registry.conftest import chip, write_user_file
    monkeypatch.setattr(registry, "_registry", None)
    path = write_user_file(tmp_path, [chip("acme-x1")])
    assert main(["predict", "llama-3-8b", "my-chip", "--hardware-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert "unknown hardware 'my-chip'" in err and str(path) in err and "acme-x1" in err
    assert err.count("\n") == 1


# ---- a reader that stops early -------------------------------------------------------------------

@pytest.mark.parametrize("argv,status", [(["registry", "list", "models"], 141),
                                         (["registry", "show", "h100"], 141),
                                         (["--help"], 0)])
def test_closed_stdout_ends_quietly(argv, status):
    """stdout is a pipe whose reader is already gone (what `| head -1` leaves): no traceback,
    no "[Errno 32] Broken pipe", exit status 141 (128 + SIGPIPE) as for cat (argparse's help
    output swallows the error itself and exits 0)."""
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run([sys.executable, "-m", "mlsysim_sym.cli", *argv], stdout=w,
                           stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(w)
    assert p.stderr == "" and p.returncode == status


def test_head_one_through_a_shell():
    if shutil.which("sh") is None or shutil.which("head") is None:
        pytest.skip("needs sh and head")
    cmd = f"'{sys.executable}' -m mlsysim_sym.cli equations 4 | head -1"
    p = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.startswith("% Wall 4")
    assert p.stderr == ""


# ---- predict for every family ------------------------------------------------------------------

FAMILY_CASES = [("llama-3-8b", "h100", "decoder"), ("mixtral-8x7b", "h200", "moe"),
                ("bert-base", "a100", "encoder"), ("resnet-50", "a100", "cnn"),
                ("vit-b-16", "a100", "vit"), ("dit-xl-2-256", "a100", "diffusion"),
                ("mlperf-tiny-kws-ds-cnn", "st-stm32f746", "tinyml")]


def _strict_json(text):
    def refuse(const):
        raise AssertionError(f"{const} in the JSON output")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("model,hw,family", FAMILY_CASES)
def test_predict_every_family_text_and_json(capsys, model, hw, family):
    assert main(["predict", model, hw]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{model}") and f"({family}, " in out
    for label in ("latency", "throughput", "memory footprint", "memory capacity", "feasible",
                  "bottleneck"):
        assert f"  {label}" in out, label
    assert "nan" not in out.lower()
    assert main(["predict", model, hw, "--json"]) == 0
    d = _strict_json(capsys.readouterr().out)
    assert d["model_family"] == family and isinstance(d["feasible"], bool)
    assert d["latency"]["value"] > 0 and d["throughput"]["value"] > 0


def test_predict_family_headline_comes_from_the_result():
    """The rows printed for a non-LLM family are its outputs() (the family's own terms)."""
    import mlsysim_sym as ms
    from mlsysim_sym.cli import _headline
    r = ms.predict("mlperf-tiny-kws-ds-cnn", "st-stm32f746")
    labels = [label for label, _q in _headline(r)]
    assert labels[:3] == ["latency", "throughput", "memory footprint"]
    assert "weight read time" in labels and "sram footprint" in labels
    assert labels[-1] == "memory capacity"


def test_predict_every_registry_model_answers_or_says_why(capsys):
    """Every model in the registry: a prediction (exit 0), or a one-line reason (exit 2, for what
    the library does not model or the registry does not record) - never a traceback."""
    from mlsysim_sym import registry
    for m in registry.list_models():
        hw = "st-stm32h743" if m.family == "tinyml" else "h100"
        rc = main(["predict", m.name, hw])
        captured = capsys.readouterr()
        assert rc in (0, 2), m.name
        if rc == 2:
            assert captured.err.startswith("mlsysim-sym: error:"), m.name
            assert captured.err.count("\n") == 1, m.name


@pytest.mark.parametrize("argv,needle", [
    (["predict", "resnet-50", "a100", "--tp", "4"], "--tp does not apply to resnet-50, a cnn"),
    (["predict", "mlperf-tiny-kws-ds-cnn", "st-stm32f746", "--batch", "4"], "--batch"),
    (["predict", "vit-b-16", "a100", "--phase", "prefill", "--explain"], "--phase, --explain"),
])
def test_predict_options_a_family_ignores_are_errors(capsys, argv, needle):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "--precision" in err and err.count("\n") == 1


# ---- fast errors -------------------------------------------------------------------------------

_FAST = """
import resource, sys
from mlsysim_sym.cli import main
rc = main({argv!r})
heavy = sorted(m for m in ("sympy", "pint", "pydantic", "numpy", "scipy") if m in sys.modules)
ru = resource.getrusage(resource.RUSAGE_SELF)
print(rc, ",".join(heavy) or "-", ru.ru_utime + ru.ru_stime)
"""


@pytest.mark.parametrize("argv,needle", [
    (["predict", "llama-3-8b", "h1000"], "unknown hardware 'h1000'"),
    (["predict", "llama-3-9b", "h100"], "unknown model 'llama-3-9b'"),
    (["predict", "llama-3-8b", "h100", "--precision", "fp3"], "unknown precision 'fp3'"),
    (["predict", "h100", "llama-3-8b"], "is a hardware"),
    (["size", "llama-3-8b", "h100", "h1000", "--qps", "2"], "unknown hardware 'h1000'"),
    (["sensitivity", "llama-3-8b", "a1000"], "unknown hardware 'a1000'"),
    (["synthesize", "llama-3-8", "--target", "tpot=20 ms"], "unknown model"),
])
def test_wrong_names_answer_before_sympy_pint_or_pydantic_load(argv, needle):
    """An unknown name or precision is reported from the registry's name index: no sympy, pint,
    pydantic or numpy is imported, and the whole process takes well under 0.5 s of CPU (it took
    1.5 s of CPU, 3-5 s of wall time, before)."""
    pytest.importorskip("resource")
    p = subprocess.run([sys.executable, "-c", _FAST.format(argv=argv)], capture_output=True,
                       text=True, timeout=120)
    rc, heavy, cpu = p.stdout.split()
    assert rc == "2" and heavy == "-", (p.stdout, p.stderr)
    assert needle in p.stderr and p.stderr.count("\n") == 1
    assert float(cpu) < 0.5


_EXTRAS = """
import sys
from mlsysim_sym.cli import main
rc = main(["predict", "llama-3-8b", "h100"])
hidden = sorted(m for m in ("dask", "dask.base", "babel") if m in sys.modules)
import pint.compat
import dask, babel   # importable again after the command
print(rc, ",".join(hidden) or "-", pint.compat.HAS_DASK)
"""


def test_a_command_does_not_import_pints_optional_integrations():
    """pint imports dask (and Babel) at its own import when installed: the command line hides
    them while a command runs (none uses them), and they import normally afterwards."""
    pytest.importorskip("dask")
    pytest.importorskip("babel")
    p = subprocess.run([sys.executable, "-c", _EXTRAS], capture_output=True, text=True,
                       timeout=300)
    assert p.stdout.splitlines()[-1].split() == ["0", "-", "False"], (p.stdout, p.stderr)


# ---- progress of validate and calibrate --------------------------------------------------------

class _FakeReport:
    rows, not_covered, cross_generation, strata = [], [], {}, []

    def summary(self):
        return {}

    def vendor_summary(self):
        return {}

    def summary_text(self):
        return "summary"

    def table(self):
        return "table"


def _fake_validate(measurements=None, progress=None, **kw):
    for i in range(3):
        if progress:
            progress(f"[{i + 1}/3] without source-{i}: 2 rows predicted")
    return _FakeReport()


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal (the progress bar draws only on one)."""

    def isatty(self):
        return True


def _draws(text):
    """The successive states of a redrawn progress line."""
    return [d.rstrip() for d in text.replace("\n", "\r").split("\r") if d.strip()]


@pytest.mark.parametrize("extra,expect_progress", [([], True), (["--summary"], True),
                                                   (["--json"], False)])
def test_validate_shows_progress_on_stderr_unless_json(capsys, monkeypatch, extra,
                                                       expect_progress):
    import mlsysim_sym.calibration as calibration
    monkeypatch.setattr(calibration, "validate", _fake_validate)
    # a frozen clock and no ticker: the redraw count must not depend on the machine's load
    import mlsysim_sym.progress as progress_module
    frozen = progress_module.Progress

    class _FrozenProgress(frozen):
        def __init__(self, title, stream=None, **kw):
            super().__init__(title, stream, **{**kw, "tick": None, "clock": lambda: 0.0})

    monkeypatch.setattr(progress_module, "Progress", _FrozenProgress)
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main(["validate", *extra]) == 0
    captured = capsys.readouterr()
    if expect_progress:
        # a terminal: one bar, redrawn (on the frozen clock the steps come within 0.1 s: the
        # first and the end)
        draws = _draws(term.getvalue())
        assert draws[0].startswith("validate: without source-0: 2 rows predicted  33%|")
        assert draws[0].endswith("| 1/3 (0 s)")
        assert draws[-1].startswith("validate: done 100%|") and draws[-1].endswith("3/3 (0 s)")
        assert len(draws) == 2 and term.getvalue().endswith("\n")
    else:
        assert term.getvalue() == ""
        json.loads(captured.out)


def test_validate_is_silent_when_stderr_is_not_a_terminal(capsys, monkeypatch):
    import mlsysim_sym.calibration as calibration
    monkeypatch.setattr(calibration, "validate", _fake_validate)
    assert main(["validate", "--summary"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.strip() == "summary"


def test_calibrate_passes_a_progress_reporter(capsys, monkeypatch):
    import mlsysim_sym.calibration as calibration
    seen = {}

    class _Result:
        parameters = {}

        def report(self):
            return "report"

    def fake(measurements=None, parameters=None, progress=None):
        seen["progress"] = progress
        if progress is not None:
            progress("round 1: fitting 2 parameters to 3 measurements, 1 evaluations")
        return _Result()

    monkeypatch.setattr(calibration, "calibrate", fake)
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main(["calibrate"]) == 0
    err = _draws(term.getvalue())
    assert err[0].startswith("calibrate: round 1: fitting 2 parameters") and \
        err[-1].startswith("calibrate: done")
    term.truncate(0)
    assert main(["calibrate", "--json"]) == 0
    assert seen["progress"] is None and term.getvalue() == ""
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal: no reporter at all
    assert main(["calibrate"]) == 0
    assert seen["progress"] is None


def test_interrupting_a_long_run_ends_its_progress_line_and_exits_130(capsys, monkeypatch):
    import mlsysim_sym.calibration as calibration

    def interrupted(measurements=None, progress=None, **kw):
        progress("[1/41] without source-0: 2 rows predicted")
        raise KeyboardInterrupt

    monkeypatch.setattr(calibration, "validate", interrupted)
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main(["validate", "--summary"]) == 130
    err = _draws(term.getvalue())
    assert err[-2].startswith("validate: stopped ") and err[-2].endswith("| 1/41 (0 s)")
    assert err[-1] == "mlsysim-sym: interrupted"
