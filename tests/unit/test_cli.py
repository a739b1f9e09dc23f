"""The command line: text, --json, --explain, and one-line errors with exit status 2."""

import json

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
