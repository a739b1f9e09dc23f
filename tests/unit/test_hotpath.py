"""The hot paths (issue 19 item 1): what predict, train, size_fleet and solve_for memoise gives
the numbers of the checked path, refuses the same bad input, and is dropped when the registry
changes (a reload, a user's file replacing an entry, another registry swapped in)."""

import numpy as np
import pytest

import mlsysim_sym as ms
from mlsysim_sym import registry
from mlsysim_sym.tasks.fleet import search

# a user's chip that takes the alias "h100": the H100 SXM's figures with twice the bandwidth
_FAST_H100 = """
kind: hardware
sources:
  hotpath-test-sheet:
    title: A test chip for the cache tests
    publisher: mlsysim_sym tests
    year: 2026
    url: https://example.com/hotpath-test.pdf
    kind: datasheet
entries:
  - name: hotpath-h100-2x
    display_name: H100 with twice the bandwidth (test)
    aliases: [h100]
    vendor: nvidia
    tier: datacenter
    release_year: 2026
    architecture: hopper
    provenance: {source: hotpath-test-sheet, locator: Table 1, retrieved: "2026-01-15",
                 basis: assumption, note: "a test chip: the H100 SXM with twice the bandwidth"}
    peak: {fp16: 989 TFLOP/s, bf16: 989 TFLOP/s, fp8: 1979 TFLOP/s}
    memory:
      - {tier: hbm, name: HBM3, capacity: 80 GB, bandwidth: 6.7 TB/s}
    links:
      scale_up: {name: NVLink, bandwidth: 450 GB/s, latency: 1 us}
    tdp: 700 W
"""


@pytest.fixture
def own_registry(monkeypatch):
    """A fresh load of the shipped data for one test (what it loads is dropped afterwards)."""
    monkeypatch.setattr(registry, "_registry", None)
    return registry


def _same(a, b):
    """Two results give the same numbers (exactly: the memo holds the checked path's values;
    NaN, e.g. the training tokens not given, equals NaN)."""
    np.testing.assert_equal(a.to_dict(), b.to_dict())
    np.testing.assert_equal(a.base_inputs(), b.base_inputs())
    assert list(a.base_inputs()) == list(b.base_inputs())


@pytest.mark.parametrize("model,hw,kw", [
    ("llama-3-8b", "h100", {}),
    ("llama-3-8b", "h100", {"batch": 16, "seq_len": 8192.0, "phase": "prefill"}),
    ("llama-3-70b", "h200", {"tp": 4, "precision": "FP8", "stack": "vllm", "batch": 32}),
    ("mixtral-8x7b", "h100", {"batch": np.int64(8)}),          # MoE
    ("deepseek-v3", "h200", {"tp": 8, "precision": "fp8"}),   # multi-head latent attention
])
def test_memoised_predict_equals_the_checked_path(model, hw, kw):
    first = ms.predict(model, hw, **kw)
    again = ms.predict(model, hw, **kw)       # every input but batch and seq_len memoised
    checked = ms.predict(model, hw, prefill_tokens=0.0, **kw)   # a float: the checked path
    _same(first, again)
    _same(again, checked)
    # another batch and context on the memo: the checked path's numbers for them
    other = dict(kw, batch=3, seq_len=1000)
    _same(ms.predict(model, hw, **other), ms.predict(model, hw, prefill_tokens=0.0, **other))


@pytest.mark.parametrize("bad,match", [
    ({"batch": 0}, "batch"), ({"batch": 1.5}, "batch"), ({"batch": True}, "batch"),
    ({"batch": float("nan")}, "batch"), ({"seq_len": 10**12}, "seq_len"),
    ({"tp": True}, "tp"), ({"tp": 3}, "tp=3"), ({"phase": "decoding"}, "phase"),
    ({"precision": "fp9"}, "fp9"), ({"stack": "Not A Stack"}, "stack"),
])
def test_memoised_predict_refuses_what_the_checked_path_refuses(bad, match):
    ms.predict("llama-3-8b", "h100")
    ms.predict("llama-3-8b", "h100")          # the memo is filled
    with pytest.raises(ValueError, match=match):
        ms.predict("llama-3-8b", "h100", **bad)


def test_generation_moves_on_every_registry_change(own_registry):
    g0 = registry.generation()
    registry.hardware("h100")                 # the first lookup loads the registry
    g1 = registry.generation()
    assert g1 != g0
    registry.model("llama-3-8b")
    assert registry.generation() == g1        # a lookup changes nothing
    registry.load_text(_FAST_H100, name="hotpath-test.yaml", override=True)
    g2 = registry.generation()
    assert g2 != g1
    registry.reload()
    assert registry.generation() not in (g1, g2)


def test_a_user_file_replacing_a_chip_drops_the_memoised_inputs(own_registry, monkeypatch):
    before = [ms.predict("llama-3-8b", "h100", batch=8) for _ in range(2)]
    train_kw = dict(devices=8, global_batch=64, seq_len=4096, zero_stage=1)
    trained = [ms.train("llama-3-8b", "h100", **train_kw) for _ in range(2)]
    assert before[1].hardware.name == trained[1].hardware.name == "nvidia-h100-sxm"
    registry.load_text(_FAST_H100, name="hotpath-test.yaml", override=True)
    after = ms.predict("llama-3-8b", "h100", batch=8)
    assert after.hardware.name == "hotpath-h100-2x"
    # decode is memory-bound: twice the bandwidth, a shorter step
    assert after.time_per_output_token < before[1].time_per_output_token
    assert after.base_inputs()["memory_bandwidth"] == pytest.approx(
        2 * before[1].base_inputs()["memory_bandwidth"], rel=0.01)
    assert ms.train("llama-3-8b", "h100", **train_kw).hardware.name == "hotpath-h100-2x"
    # the shipped registry swapped back in: its H100 again, not the user's
    monkeypatch.undo()
    back = ms.predict("llama-3-8b", "h100", batch=8)
    assert back.hardware.name == "nvidia-h100-sxm"
    _same(back, before[0])
    assert ms.train("llama-3-8b", "h100", **train_kw).hardware.name == "nvidia-h100-sxm"


def test_memoised_train_equals_a_fresh_machine():
    kw = dict(devices=16, tp=2, global_batch=64, seq_len=4096, zero_stage=1)
    first, again = (ms.train("llama-3-8b", "h100", **kw) for _ in range(2))
    _same(first, again)
    assert first.assumptions == again.assumptions and first.assumptions is not again.assumptions
    # a Hardware object is keyed by identity, and gives the numbers of its name
    _same(ms.train("llama-3-8b", registry.hardware("h100"), **kw), first)


def test_fleet_search_bisection_gives_the_enumerated_minimum(monkeypatch):
    kw = dict(qps=400, input_tokens=1024, output_tokens=256,
              slo={"ttft": "2 s", "tpot": "50 ms"})
    chips = ["h100", "mi300x", "a100"]
    enumerated = ms.size_fleet("llama-3-70b", chips, **kw)
    monkeypatch.setattr(search, "_ENUMERATE", 1)   # every bracket bisected to one integer
    bisected = ms.size_fleet("llama-3-70b", chips, **kw)
    assert bisected.to_dict() == enumerated.to_dict()
    assert enumerated.feasible and enumerated.replicas > 1


def test_fleet_search_matches_one_chip_at_a_time():
    kw = dict(qps=200, input_tokens=1024, output_tokens=256,
              slo={"ttft": "1 s", "tpot": "40 ms"}, precision="fp8")
    chips = ["h100", "mi300x", "h200", "a100"]   # the A100 has no fp8 peak: infeasible
    together = ms.size_fleet("llama-3-70b", chips, **kw).to_dict()["candidates"]
    alone = [ms.size_fleet("llama-3-70b", c, **kw).to_dict()["candidates"][0] for c in chips]
    assert together == alone
    assert not together[3]["feasible"] and "fp8" in together[3]["reason"]


def test_memo_tables_are_bounded(monkeypatch):
    from mlsysim_sym.tasks._core import memo
    monkeypatch.setattr(memo, "MAX_ENTRIES", 2)
    t = memo.table()
    for i in range(5):
        assert memo.put(t, i, str(i)) == str(i)
        assert len(t) <= 2 and t[i] == str(i)
    # what-if chips passed as objects are keyed by identity: each pins its object, so a loop
    # over many of them starts the table over instead of growing it
    chips = [ms.Hardware.from_spec({
        "name": f"what-if-{k}", "vendor": "acme", "tier": "datacenter",
        "peak": {"fp16": f"{k} PFLOP/s"},
        "memory": [{"tier": "hbm", "capacity": "192 GB", "bandwidth": "8 TB/s"}]})
        for k in (1, 2, 3)]
    lat = [ms.predict("llama-3-8b", c, batch=64).time_per_output_token for c in chips]
    assert lat[0] > lat[1] > lat[2]   # each chip its own numbers: the compute term shrinks
