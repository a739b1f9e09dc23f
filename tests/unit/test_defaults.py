"""Defaults: a validated table, a structured variant key, and resolve() saying which entry."""

import pytest

from mlsysim_sym import defaults as d
from mlsysim_sym.defaults.schema import load_table
from mlsysim_sym import registry


def test_resolve_names_the_entry_that_holds_the_value():
    h100 = registry.hardware("h100")
    key = d.VariantKey.for_chip(h100, "fp8", "serve")
    r = d.resolve("compute_efficiency", key)
    assert r.requested == "compute_efficiency[serve-hopper-fp8]"
    # the value is the one the old string path gives, and the entry is on the parent chain
    assert r.value == d.default(d.variant_name("compute_efficiency", h100, "fp8", "serve"))
    chain, look = [], r.requested
    while look:
        chain.append(look)
        look = d.parent(look)
    assert r.variant in chain and r.variant in d.defaults()
    assert r.variant in r.describe() and "measurements" in r.describe()


def test_a_key_with_no_entry_of_its_own_falls_back_and_says_so():
    r = d.resolve("compute_efficiency", d.VariantKey(regime="serve", generation="no-such-gen"))
    assert r.variant != r.requested and "its parent" in r.describe()


def test_variant_key_and_variant_name_agree():
    h = registry.hardware("a100")
    for sym in ("compute_efficiency", "attention_efficiency", "memory_efficiency"):
        for prec in ("bf16", "fp8", None):
            assert d.VariantKey.for_chip(h, prec, "serve").name(sym) == \
                d.variant_name(sym, h, prec, "serve")
    assert d.VariantKey(generation="ampere", kernel="eager").name("attention_efficiency") == \
        "attention_efficiency[ampere-eager]"


def test_a_stack_is_a_name_not_a_hierarchy():
    assert d.resolve("fixed_overhead", d.VariantKey(stack="vllm")).variant == \
        "fixed_overhead[vllm]"
    with pytest.raises(ValueError, match="unknown stack 'tensorrt-llm'.*known stacks: .*vllm"):
        d.resolve("fixed_overhead", d.VariantKey(stack="tensorrt-llm"))
    with pytest.raises(ValueError, match="did you mean"):
        d.check_stack("vlm")
    assert d.check_stack(None) is None
    assert "plumerai" in d.stacks("tinyml_mac_efficiency")


@pytest.mark.parametrize("raw, message", [
    ({}, "non-empty mapping"),
    ({"compute_efficiency": "0.5"}, "must be a mapping"),
    ({"compute_efficiency": {"value": "0.5", "basis": "fitted"}}, "no 'source'"),
    ({"compute_efficiency": {"value": 0.5, "basis": "fitted", "source": "x"}}, "quoted"),
    ({"compute_efficiency": {"value": "0.5", "basis": "guess", "source": "x"}}, "basis"),
    ({"compute_efficiency": {"value": "0.5", "basis": "fitted", "source": "x", "colour": 1}},
     "unknown field"),
    ({"compute_efficiency": {"value": "0.5", "basis": "fitted", "source": "x",
                             "variants": {"Bad Name": {"value": "0.4"}}}}, "symbol name"),
])
def test_the_table_is_validated_with_a_clear_message(raw, message):
    with pytest.raises((ValueError, KeyError), match=message):
        load_table(raw)


def test_the_shipped_table_loads_and_every_entry_has_provenance():
    table = d.defaults()
    assert len(table) > 40
    for name in table:
        p = d.provenance(name)
        assert p["basis"] and p["source"], name


def test_predictions_name_the_defaults_they_used_and_refuse_unknown_stacks():
    import mlsysim_sym as ms
    r = ms.predict("llama-3-8b", "h100", batch=8, precision="fp8", stack="vllm")
    used = r.defaults_used()
    assert used["fixed_overhead"].variant == "fixed_overhead[vllm]"
    assert used["compute_efficiency"].requested == "compute_efficiency[serve-hopper-fp8]"
    text = r.explain()
    assert "calibrated defaults used" in text and "fixed_overhead[vllm]" in text
    assert "mlsysim_sym_defaults" in r.cite() and "fixed_overhead[vllm]" in r.cite()
    # what the caller gives is not a default
    given = ms.predict("llama-3-8b", "h100", efficiency={"compute": 0.5, "memory": 0.8})
    assert set(given.defaults_used()) == {"fixed_overhead", "communication_efficiency",
                                          "unoverlapped_fraction"}
    for bad in ("tensorrt-llm", "sglang2", "tensorrt"):   # tensorrt: a forward-pass framework
        with pytest.raises(ValueError, match="known stacks: .*sglang.*trt_llm"):
            ms.predict("llama-3-8b", "h100", stack=bad)
    # a stack whose overhead the caller gives (a calibration of a new engine) needs no default
    ok = ms.predict("llama-3-8b", "h100", stack="my_engine",
                    efficiency={"fixed_overhead": "2 ms"})
    assert ok.time_per_output_token.magnitude > 0
    with pytest.raises(ValueError, match="known stacks: .*cmsis_nn"):
        ms.predict("mlperf-tiny-kws-ds-cnn", "st-stm32f746", stack="cmsis-nn-v6")


# ---------------------------------------------------------------- engines and forward passes
def _pooled_overhead_ms():
    from mlsysim_sym.defaults import default
    return default("fixed_overhead").to("ms").magnitude


@pytest.mark.parametrize("engine", ["trt_llm", "vllm", "sglang", "llama.cpp", "mlx", "nim"])
def test_every_named_engine_resolves_to_its_own_entry_or_the_pooled_one(engine):
    from mlsysim_sym.defaults import VariantKey, resolve, variants
    r = resolve("fixed_overhead", VariantKey(regime="serve", stack=engine))
    assert r.requested == f"fixed_overhead[{engine}]"
    # its own entry when the calibration data held rows of it, else the parent (pooled) one
    assert r.variant == (r.requested if engine in variants("fixed_overhead")
                         else "fixed_overhead")


def test_engines_with_different_overheads_predict_differently():
    import mlsysim_sym as ms
    from mlsysim_sym.defaults import default
    kw = dict(batch=1, seq_len=512)
    over = {e: default(f"fixed_overhead[{e}]").to("ms").magnitude for e in ("vllm", "trt_llm")}
    t = {e: ms.predict("llama-3-8b", "h100", stack=e, **kw).time_per_output_token.to("ms")
         .magnitude for e in over}
    # the step differs by exactly the difference of the two engines' per-step overheads
    assert t["vllm"] - t["trt_llm"] == pytest.approx(over["vllm"] - over["trt_llm"], abs=1e-9)
    # an engine without rows of its own (SGLang, MLX) is the pooled default
    pooled = ms.predict("llama-3-8b", "h100", **kw).time_per_output_token.to("ms").magnitude
    for engine in ("sglang", "mlx"):
        got = ms.predict("llama-3-8b", "h100", stack=engine, **kw)
        assert got.time_per_output_token.to("ms").magnitude == pytest.approx(pooled, rel=1e-12)
        assert got.defaults_used()["fixed_overhead"].variant == "fixed_overhead"


def test_tensor_parallel_predictions_name_their_all_reduce_defaults():
    import mlsysim_sym as ms
    from mlsysim_sym.units import to_base
    # one device: no all-reduce, so neither the fixed cost per call nor the link latency
    one = ms.predict("llama-3-70b", "mi300x", batch=8, seq_len=2048).defaults_used()
    assert "allreduce_fixed_time" not in one and "scale_up_latency" not in one
    # MI300X's xGMI latency is a placeholder (basis: assumption): the calibrated serving latency
    # runs; H100's NVLink 4 latency is NCCL-derived, so only the fixed cost is a default
    for chip, with_latency in (("mi300x", True), ("h100", False)):
        r = ms.predict("llama-3-70b", chip, tp=8, batch=8, seq_len=2048)
        used, ran = r.defaults_used(), r.base_inputs()
        fixed = used["allreduce_fixed_time"]
        assert fixed.variant == "allreduce_fixed_time"
        assert to_base(fixed.value) == pytest.approx(ran["allreduce_fixed_time"], rel=1e-12)
        assert ("scale_up_latency" in used) is with_latency
        if with_latency:
            lat = used["scale_up_latency"]
            assert lat.variant == "scale_up_latency[serve]"
            assert to_base(lat.value) == pytest.approx(ran["scale_up_latency"], rel=1e-12)
    # what the caller gives is not a default
    given = ms.predict("llama-3-70b", "mi300x", tp=8, batch=8, seq_len=2048,
                       efficiency={"allreduce_fixed_time": "10 us", "scale_up_latency": "2 us"})
    assert not {"allreduce_fixed_time", "scale_up_latency"} & set(given.defaults_used())


def test_a_forward_pass_has_its_own_overhead_not_the_llm_step():
    import mlsysim_sym as ms
    from mlsysim_sym.defaults import VariantKey, resolve, stacks
    # a compiled engine (TensorRT) is what the per-pass value describes; a framework that
    # dispatches operator by operator has its own entry, falling back to it
    assert VariantKey(stack="tensorrt").name("pass_overhead") == "pass_overhead"
    assert VariantKey(stack="mxnet").name("pass_overhead") == "pass_overhead[mxnet]"
    assert {"tensorrt", "mxnet", "pytorch", "onnxruntime"} <= set(stacks("pass_overhead"))
    # until a refit writes its own entry it resolves to the symbol it succeeds
    r = resolve("pass_overhead", VariantKey(stack="pytorch"))
    assert r.variant in ("pass_overhead[pytorch]", "pass_overhead", "fixed_overhead")
    for model in ("resnet-50", "bert-large"):
        for stack in (None, "tensorrt"):
            p = ms.predict(model, "l4", precision="int8", stack=stack)
            used = p.defaults_used()
            assert "fixed_overhead" not in used and used["pass_overhead"].requested == \
                "pass_overhead"
            # the pass's latency carries exactly that overhead once
            given = ms.predict(model, "l4", precision="int8",
                               efficiency={"pass_overhead": used["pass_overhead"].value})
            assert p.latency.to("ms").magnitude == pytest.approx(
                given.latency.to("ms").magnitude, rel=1e-12)
    # an LLM engine is not a forward-pass framework, and the other way round
    with pytest.raises(ValueError, match="pass_overhead.*known stacks: .*tensorrt"):
        ms.predict("resnet-50", "l4", stack="vllm")
    with pytest.raises(ValueError, match="fixed_overhead.*known stacks: .*trt_llm"):
        ms.predict("llama-3-8b", "l4", stack="mxnet")


def test_the_parsed_file_comes_from_the_disk_cache_once_stored(tmp_path, monkeypatch):
    """load_file parses the YAML once and stores it; a later read takes the stored document
    (no YAML parse) and gives the same table; edited bytes or a corrupt entry parse again."""
    from mlsysim_sym import cache
    from mlsysim_sym.defaults import schema
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    path = tmp_path / "defaults.yaml"
    path.write_bytes(d.PATH.read_bytes())
    parses = []
    real = schema._parse_yaml
    monkeypatch.setattr(schema, "_parse_yaml", lambda data: parses.append(1) or real(data))
    first = schema.load_file(path)
    again = schema.load_file(path)
    assert len(parses) == 1 and again == first
    assert first == load_table(real(d.PATH.read_bytes()))        # what the YAML says
    retrieved = [m["retrieved"] for _, m in first.values() if "retrieved" in m]
    assert all(type(r) is type(retrieved[0]) for r in retrieved)  # dates stay dates
    path.write_bytes(d.PATH.read_bytes() + b"\n# edited\n")
    assert schema.load_file(path) == first and len(parses) == 2
    for entry in (tmp_path / "cache" / "defaults").glob("*.json"):
        entry.write_bytes(entry.read_bytes()[:-20])               # corrupt: parsed again
    assert schema.load_file(path) == first and len(parses) == 3


def test_what_yaml_gives_round_trips_through_the_stored_text():
    import datetime as dt
    from mlsysim_sym.defaults import schema
    doc = {"a": {"retrieved": dt.date(2025, 1, 2), "when": dt.datetime(2025, 1, 2, 3, 4),
                 "x": [1, 2.5, None, True, "s"]}}
    assert schema._decoded(schema._encoded(doc)) == doc
    assert schema._encoded({"a": {1, 2}}) is None          # not plain data: not cached
    assert schema._decoded("not json") is None
