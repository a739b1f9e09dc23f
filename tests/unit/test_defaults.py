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
    for bad in ("tensorrt-llm", "sglang"):
        with pytest.raises(ValueError, match="known stacks: .*trt_llm"):
            ms.predict("llama-3-8b", "h100", stack=bad)
    # a stack whose overhead the caller gives (a calibration of a new engine) needs no default
    ok = ms.predict("llama-3-8b", "h100", stack="my_engine",
                    efficiency={"fixed_overhead": "2 ms"})
    assert ok.time_per_output_token.magnitude > 0
    with pytest.raises(ValueError, match="known stacks: .*cmsis_nn"):
        ms.predict("mlperf-tiny-kws-ds-cnn", "st-stm32f746", stack="cmsis-nn-v6")
