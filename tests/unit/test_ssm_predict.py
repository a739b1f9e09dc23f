"""predict() for the state-space family (Mamba): the result's interface, bad input, the CLI."""

import json

import pytest

import mlsysim_sym as ms
from mlsysim_sym.cli import main
from mlsysim_sym.equations import workloads
from mlsysim_sym.tasks._core.result import Result
from mlsysim_sym.tasks.workloads.ssm import SSMPrediction, predict_ssm


def test_the_record_is_a_workload_named_ssm():
    assert workloads.ssm.kind == "workload" and workloads["SSM"] is workloads.ssm


def test_predict_dispatches_and_the_result_speaks_like_the_llm_prediction():
    r = ms.predict("mamba-2-8b", "h100")
    assert isinstance(r, SSMPrediction) and isinstance(r, Result)
    for name in ("ttft", "time_per_output_token", "latency", "throughput", "memory_footprint",
                 "memory_capacity"):
        assert getattr(r, name).magnitude > 0, name
    assert r.feasible is True and r.bottleneck == "Memory"
    assert r.reason.startswith("fits:")
    assert r.headline().startswith("mamba-2-8b on nvidia-h100-sxm: latency ")
    assert predict_ssm("mamba-2-8b", "h100").time_per_output_token == r.time_per_output_token
    # base-unit magnitudes without pint, as the other workload results give them
    assert r.value("latency") == r.value("ssm_time_per_output_token") == pytest.approx(
        r.time_per_output_token.to("s").magnitude)
    assert r.value("batch") == r.base_inputs()["batch"] == 1.0
    with pytest.raises(ValueError, match="no output or input 'kv_cache'"):
        r.value("kv_cache")


def test_to_dict_has_the_common_keys_and_matches_its_schema():
    r = ms.predict("mamba-2-8b", "h100", batch=4)
    d = r.to_dict()
    for key in ("model", "hardware", "latency", "throughput", "memory_footprint", "feasible",
                "reason", "bottleneck", "ttft", "time_per_output_token", "state"):
        assert key in d, key
    assert d["model"] == "mamba-2-8b" and d["family"] == "ssm" and d["phase"] == "decode"
    schema = SSMPrediction.json_schema()
    assert set(schema["required"]) <= set(d)
    json.dumps(d)


def test_infeasible_batch_says_what_does_not_fit():
    r = ms.predict("mamba-2-8b", "l4", batch=4096)   # 24 GB: 4096 x 13.1 MB of state alone
    assert r.feasible is False and r.bottleneck == "Memory"
    assert "does not fit" in r.reason and "recurrent state" in r.reason


def test_cite_names_the_mamba_sources_and_the_calibrated_defaults():
    bib = ms.predict("mamba-2-8b", "h100").cite()
    assert "gu2023mamba" in bib and "issues/110" in bib
    assert "compute_efficiency" in str(ms.predict("mamba-2-8b", "h100").defaults_used())


@pytest.mark.parametrize("kwargs,match", [
    ({"tp": 2}, "tp does not apply"),
    ({"weight_bits": 4.5}, "weight_bits"),
    ({"phase": "generate"}, "phase"),
    ({"batch": 0}, "batch"),
    ({"seq_len": -5}, "seq_len"),
    ({"precision": "fp99"}, "precision"),
    ({"state_precision": "fp7"}, "state_precision"),
    ({"efficiency": {"unoverlapped": 0.2}}, "unknown efficiency keys"),
    ({"efficiency": 1.5}, "efficiency"),
])
def test_bad_input_is_a_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ms.predict("mamba-2-8b", "h100", **kwargs)


def test_predict_ssm_refuses_other_families():
    with pytest.raises(ValueError, match="llama-3-8b is a decoder model"):
        predict_ssm("llama-3-8b", "h100")


def test_cli_text_and_json(capsys):
    assert main(["predict", "mamba-2-8b", "h100"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mamba-2-8b on nvidia-h100-sxm (ssm, fp16, batch 1, seq_len 2048, "
                          "phase decode)")
    assert "time per output token" in out and "state" in out and "bottleneck" in out
    assert main(["predict", "mamba-2-8b", "h100", "--json", "--phase", "prefill"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["model_family"] == "ssm" and d["phase"] == "prefill"
    assert d["latency"] == d["ttft"] and d["bottleneck"] == "Compute"


def test_cli_refuses_transformer_only_options(capsys):
    assert main(["predict", "mamba-2-8b", "h100", "--tp", "2"]) == 2
    err = capsys.readouterr().err
    assert "--tp does not apply to mamba-2-8b, an ssm model" in err and err.count("\n") == 1
