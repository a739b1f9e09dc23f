"""Malformed registry data is rejected with an error naming the file, the entry and the field."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlsysim_sym.registry import RegistryError, RegistryLookupError
from mlsysim_sym.registry.schema import HardwareSpec

from .conftest import SOURCES, chip, tiny_model, write_user_file

FILE = "my_chip.yaml"


def load_error(registry, tmp_path, entries, kind="hardware", sources=None) -> RegistryError:
    path = write_user_file(tmp_path, entries, kind=kind, sources=sources)
    with pytest.raises(RegistryError) as info:
        registry.load(path)
    return info.value


def assert_names(err: RegistryError, entry: str, field: str, *phrases: str):
    text = str(err)
    assert FILE in text and err.file.endswith(FILE)
    assert f"entry '{entry}'" in text and err.entry == entry
    assert f"field '{field}'" in text and err.field == field
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} not in {text!r}"


def test_missing_required_field(empty_registry, tmp_path):
    entry = chip()
    del entry["vendor"]
    err = load_error(empty_registry, tmp_path, [entry])
    assert_names(err, "acme-x1", "vendor", "required field 'vendor' is missing", "required:")


def test_unknown_field_lists_allowed(empty_registry, tmp_path):
    err = load_error(empty_registry, tmp_path, [chip(colour="blue")])
    assert_names(err, "acme-x1", "colour", "unknown field 'colour'", "peak", "memory", "tdp")


def test_unknown_field_in_value_mapping(empty_registry, tmp_path):
    entry = chip(tdp={"value": "700 W", "sauce": "x"})
    err = load_error(empty_registry, tmp_path, [entry])
    assert_names(err, "acme-x1", "tdp.sauce", "unknown field", "locator", "basis")


def test_bare_number_for_quantity(empty_registry, tmp_path):
    err = load_error(empty_registry, tmp_path, [chip(tdp=700)])
    assert_names(err, "acme-x1", "tdp", "bare number", "W", '"700 W"')


def test_bare_number_inside_value_mapping(empty_registry, tmp_path):
    err = load_error(empty_registry, tmp_path, [chip(tdp={"value": 700})])
    assert_names(err, "acme-x1", "tdp.value", "not a quantity string")


def test_wrong_dimension_bandwidth_in_bytes(empty_registry, tmp_path):
    entry = chip()
    entry["memory"][0]["bandwidth"] = "3 GB"
    err = load_error(empty_registry, tmp_path, [entry])
    assert_names(err, "acme-x1", "memory.0.bandwidth", "B/s")


def test_gilbert_trap_gb_is_rejected(empty_registry, tmp_path):
    entry = chip()
    entry["links"]["scale_out"]["bandwidth"] = "400 Gb/s"
    err = load_error(empty_registry, tmp_path, [entry])
    assert_names(err, "acme-x1", "links.scale_out.bandwidth", "Gbit")


def test_quantity_string_cap_protects_pint(empty_registry, tmp_path):
    err = load_error(empty_registry, tmp_path, [chip(tdp="9**9**9 W")])
    assert_names(err, "acme-x1", "tdp", "not a quantity")


def test_unknown_precision_key(empty_registry, tmp_path):
    entry = chip()
    entry["peak"]["fp12"] = "1 TFLOP/s"
    err = load_error(empty_registry, tmp_path, [entry])
    assert_names(err, "acme-x1", "peak.fp12", "'fp64'", "'int4'")


def test_python_tag_is_rejected_and_not_run(empty_registry, tmp_path):
    marker = tmp_path / "pwned"
    text = yaml.safe_dump({"kind": "hardware", "sources": SOURCES, "entries": [chip()]},
                          sort_keys=False)
    text = text.replace("tdp: 1000 W",
                        f"tdp: !!python/object/apply:os.system ['touch {marker}']")
    assert "!!python" in text
    path = tmp_path / FILE
    path.write_text(text)
    with pytest.raises(RegistryError) as info:
        empty_registry.load(path)
    assert_names(info.value, "acme-x1", "tdp", "tag", "not allowed")
    assert info.value.line is not None
    assert not marker.exists()


@pytest.mark.parametrize("written", ["2026-13-45", "'yesterday'", "'2026/01/15'", "20260115"])
def test_bogus_date(empty_registry, tmp_path, written):
    text = yaml.safe_dump({"kind": "hardware", "sources": SOURCES, "entries": [chip()]},
                          sort_keys=False)
    text = text.replace("retrieved: '2026-01-15'", f"retrieved: {written}", 1)
    path = tmp_path / FILE
    path.write_text(text)
    with pytest.raises(RegistryError) as info:
        empty_registry.load(path)
    assert_names(info.value, "acme-x1", "provenance.retrieved", "YYYY-MM-DD")


def test_date_object_and_iso_string_both_accepted(empty_registry, tmp_path):
    as_date = chip("acme-d1", provenance={**chip()["provenance"], "retrieved": dt.date(2026, 1, 15)})
    path = write_user_file(tmp_path, [as_date, chip("acme-d2")])
    assert "retrieved: 2026-01-15\n" in path.read_text()  # a real YAML date, not a string
    a, b = empty_registry.load(path)
    assert a.provenance("tdp").retrieved == b.provenance("tdp").retrieved == dt.date(2026, 1, 15)


def test_future_date(empty_registry, tmp_path):
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    entry = chip(provenance={**chip()["provenance"], "retrieved": future})
    err = load_error(empty_registry, tmp_path, [entry])
    assert_names(err, "acme-x1", "provenance.retrieved", "in the future")


def test_unknown_source_id(empty_registry, tmp_path):
    entry = chip(provenance={**chip()["provenance"], "source": "acme-x1-datashet"})
    err = load_error(empty_registry, tmp_path, [entry])
    assert_names(err, "acme-x1", "provenance.source", "unknown source id", "acme-x1-datasheet")


def test_unknown_source_id_in_value_override(empty_registry, tmp_path):
    entry = chip(tdp={"value": "700 W", "source": "nowhere", "locator": "p. 1",
                      "retrieved": "2026-01-01", "basis": "measured"})
    err = load_error(empty_registry, tmp_path, [entry])
    assert_names(err, "acme-x1", "tdp.source", "unknown source id")


def test_own_source_needs_own_locator(empty_registry, tmp_path):
    entry = chip(tdp={"value": "700 W", "source": "doe-2025-tiny"})
    err = load_error(empty_registry, tmp_path, [entry])
    assert "locator" in err.field and "own" in str(err)


def test_assumption_needs_note(empty_registry, tmp_path):
    entry = chip(price={"value": "40000 USD", "currency_year": 2026, "basis": "assumption"})
    err = load_error(empty_registry, tmp_path, [entry])
    assert_names(err, "acme-x1", "price.note", "needs a note")


def test_money_needs_currency_year(empty_registry, tmp_path):
    entry = chip(price="40000 USD")
    err = load_error(empty_registry, tmp_path, [entry])
    assert_names(err, "acme-x1", "price.currency_year", "currency_year")


def test_integer_field_rejects_string_and_bool(empty_registry, tmp_path):
    err = load_error(empty_registry, tmp_path, [chip(release_year="2026")])
    assert_names(err, "acme-x1", "release_year", "not an integer")
    model = tiny_model()
    model["architecture"]["layers"] = True
    err = load_error(empty_registry, tmp_path, [model], kind="model")
    assert err.field == "architecture.layers" and "not an integer" in str(err)


def test_norway_problem_is_explained(empty_registry, tmp_path):
    text = "kind: datacenter\nentries:\n- name: oslo\n  country: NO\n  carbon_intensity: '30 gCO2e/kWh'\n  pue: '1.1'\n"
    path = tmp_path / FILE
    path.write_text(text)
    with pytest.raises(RegistryError) as info:
        empty_registry.load(path)
    assert_names(info.value, "oslo", "country", "booleans", '"NO"')


def test_source_needs_url_or_doi(empty_registry, tmp_path):
    sources = {**SOURCES, "acme-x1-datasheet": {k: v for k, v in
                                                 SOURCES["acme-x1-datasheet"].items() if k != "url"}}
    err = load_error(empty_registry, tmp_path, [chip()], sources=sources)
    assert err.entry == "acme-x1-datasheet" and err.field == "url" and "doi" in str(err)


def test_duplicate_key_is_an_error(empty_registry, tmp_path):
    text = yaml.safe_dump({"kind": "hardware", "sources": SOURCES, "entries": [chip()]},
                          sort_keys=False).replace("tdp: 1000 W", "tdp: 1000 W\n  tdp: 10 W")
    path = tmp_path / FILE
    path.write_text(text)
    with pytest.raises(RegistryError) as info:
        empty_registry.load(path)
    assert_names(info.value, "acme-x1", "tdp", "duplicate key")


def test_pue_below_one_is_rejected(empty_registry, tmp_path):
    dc = {"name": "lab", "provenance": {"source": "acme-x1-datasheet", "locator": "p. 2",
                                        "retrieved": "2026-01-15", "basis": "measured"},
          "carbon_intensity": "400 gCO2e/kWh", "pue": "0.9"}
    err = load_error(empty_registry, tmp_path, [dc], kind="datacenter")
    assert_names(err, "lab", "pue", "at least 1")


def test_failed_load_leaves_registry_unchanged(empty_registry, tmp_path):
    bad = chip("acme-bad", tdp=5)
    path = write_user_file(tmp_path, [chip("acme-good"), bad])
    with pytest.raises(RegistryError):
        empty_registry.load(path)
    with pytest.raises(RegistryLookupError):
        empty_registry.hardware("acme-good")


# ---- properties ------------------------------------------------------------------------------

QUANTITY_FIELDS = ["tdp", "clock", "price"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(number=st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans()),
       field=st.sampled_from(QUANTITY_FIELDS))
def test_any_bare_number_is_rejected(number, field):
    data = chip(**{field: number})
    data["provenance"]["retrieved"] = dt.date(2026, 1, 15)
    with pytest.raises(Exception) as info:
        HardwareSpec.model_validate(data)
    assert field in str(info.value)


@settings(max_examples=40, deadline=None)
@given(key=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
    lambda k: k not in HardwareSpec.model_fields))
def test_any_unknown_top_level_field_is_rejected(key):
    with pytest.raises(Exception) as info:
        HardwareSpec.model_validate(chip(**{key: "x"}))
    assert "extra" in str(info.value).lower() or key in str(info.value)


@settings(max_examples=60, deadline=None)
@given(magnitude=st.floats(min_value=1e-3, max_value=1e6, allow_nan=False),
       unit=st.sampled_from(["TFLOP/s", "PFLOP/s", "GFLOP/s", "TOP/s"]))
def test_peak_strings_round_trip(magnitude, unit):
    from mlsysim_sym.units import Q_
    spec = HardwareSpec.model_validate(chip(peak={"bf16": f"{magnitude!r} {unit}"}))
    q = spec.peak["bf16"].quantity
    assert q.to("FLOP/s").magnitude == pytest.approx(Q_(magnitude, unit).to("FLOP/s").magnitude,
                                                     rel=1e-12)


def test_alias_bomb_is_refused_without_expanding_it(empty_registry, tmp_path):
    """Billion laughs: 10**9 leaves through nine levels of aliases; neither the loader nor the
    error messages may expand them. Checked by what is allocated (tracemalloc), not by time:
    expanding even `a6` (10**7 leaves as nested lists) would take about 90 MB of list slots."""
    import tracemalloc
    anchors = ["    a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):
        anchors.append(f"    a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    text = ("kind: hardware\nentries:\n- name: bomb\n  junk:\n" + "\n".join(anchors)
            + "\n  aliases: *a9\n  display_name: *a9\n")
    path = tmp_path / FILE
    path.write_text(text)
    tracemalloc.start()
    try:
        with pytest.raises(RegistryError) as info:
            empty_registry.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, peak
    assert len(str(info.value)) < 20_000 and "'bomb'" in str(info.value)
