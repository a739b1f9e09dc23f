"""The unit registry: real dimensions for information, compute, tokens, requests, currency."""

import ast
import re
from pathlib import Path

import pint
import pytest
import yaml
from hypothesis import given, settings, strategies as st

from mlsysim_sym.units import Q_, UnitError, as_quantity, from_base, parse_quantity, to_base, ureg


@pytest.mark.parametrize("target", ["1/s", "request/s", "FLOP/s", "token/s", "Hz"])
def test_bandwidth_is_not_a_rate_of_anything_else(target):
    with pytest.raises(pint.DimensionalityError):
        Q_(1, "GB/s").to(target)


def test_currency_plus_bytes_raises():
    with pytest.raises(pint.DimensionalityError):
        Q_(1, "USD") + Q_(1, "GB")


def test_bytes_are_not_dimensionless():
    with pytest.raises(pint.DimensionalityError):
        Q_(80, "GB") + 1


def test_si_and_binary_prefixes_differ():
    assert Q_(1, "GB").to("B").magnitude == 10**9
    assert Q_(1, "GiB").to("B").magnitude == 2**30
    assert Q_(1, "GB") != Q_(1, "GiB")
    assert Q_(1, "KiB").to("B").magnitude == 1024
    assert Q_(1, "kB").to("B").magnitude == 1000


def test_gigabit_is_not_gigabyte_and_gb_is_refused():
    assert Q_(1, "Gbit/s").to("GB/s").magnitude == pytest.approx(0.125)
    with pytest.raises(UnitError, match="Gbit"):
        parse_quantity("1 Gb/s")


def test_energy_power_emissions_water():
    assert Q_(1, "kWh").to("J").magnitude == pytest.approx(3.6e6)
    assert Q_(700, "W").to("kW").magnitude == pytest.approx(0.7)
    assert (Q_(1, "MWh") * Q_(400, "gCO2e/kWh")).to("tCO2e").magnitude == pytest.approx(0.4)
    assert (Q_(1, "MWh") * Q_(1.8, "L/kWh")).to("L").magnitude == pytest.approx(1800)
    assert Q_(1, "MAC").to("FLOP").magnitude == 2


def test_tokens_requests_parameters_are_dimensions():
    for a, b in [("token", "request"), ("param", "token"), ("request", "sample"), ("FLOP", "B")]:
        with pytest.raises(pint.DimensionalityError):
            Q_(1, a).to(b)


@pytest.mark.parametrize("bad", ["9**9**9 byte", "__import__('os').system('true') B", "1 GB + 1",
                                 "x" * 80, "", "GB", "1e999 B", "1 GB; import os"])
def test_parse_quantity_rejects_malformed_text(bad):
    with pytest.raises(UnitError):
        parse_quantity(bad)


def test_parse_quantity_checks_dimension_and_names_both_units():
    with pytest.raises(UnitError, match=r"GB.*s"):
        parse_quantity("3 GB", "s")


def test_as_quantity_accepts_numbers_in_the_given_unit():
    assert as_quantity(2, "ms") == Q_(2, "ms")
    assert as_quantity("2 s", "ms").to("ms").magnitude == pytest.approx(2000)


@given(st.floats(min_value=1e-9, max_value=1e15, allow_nan=False),
       st.sampled_from(["GB/s", "TFLOP/s", "ms", "GiB", "W", "USD/kWh", "gCO2e/kWh"]))
def test_base_round_trip(value, unit):
    q = Q_(value, unit)
    back = from_base(to_base(q), unit)
    assert back.magnitude == pytest.approx(value, rel=1e-12)


def test_one_registry():
    from mlsysim_sym import ureg as public
    assert public is ureg


# ---- count multipliers and datasheet rates -----------------------------------------------------

from mlsysim_sym.units import COMMON_UNITS, COUNT_MULTIPLIERS, parse_unit  # noqa: E402

COUNT_UNITS = ["token", "tokens", "param", "parameter", "parameters", "FLOP", "request",
               "sample", "image", "token/s", "FLOP/s"]


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=0.001, max_value=9999, allow_nan=False).map(lambda x: round(x, 3)),
       st.sampled_from(sorted(COUNT_MULTIPLIERS)), st.sampled_from(COUNT_UNITS))
def test_count_multiplier_after_the_number_scales_counts(value, mult, unit):
    q = parse_quantity(f"{value}{mult} {unit}")
    assert q.magnitude == pytest.approx(value * COUNT_MULTIPLIERS[mult], rel=1e-12)
    assert q.units == parse_quantity(f"1 {unit}").units


def test_the_librarys_own_hints_parse():
    """The hints the library prints in its messages (train(tokens='2T token'))."""
    assert parse_quantity("2T token").to("token").magnitude == 2e12
    assert parse_quantity("70B param").to("param").magnitude == 70e9
    assert parse_quantity("15.6T tokens").to("token").magnitude == pytest.approx(15.6e12)


@pytest.mark.parametrize("text", ["70B B", "2T s", "3M W", "1k GB/s"])
def test_count_multiplier_on_a_non_count_unit_is_refused_with_a_hint_that_parses(text):
    with pytest.raises(UnitError) as exc:
        parse_quantity(text)
    hints = [h for h in re.findall(r"'([^']+)'", str(exc.value)) if h != text]
    assert hints
    for hint in hints:
        if hint[0].isdigit():
            parse_quantity(hint)


@pytest.mark.parametrize("text,base_bits_per_s", [
    ("400 Gbps", 400e9), ("100 Mbps", 100e6), ("1.6 Tbps", 1.6e12), ("9.6 kbps", 9.6e3),
    ("9.6 Kbps", 9.6e3), ("1200 GBps", 1200e9 * 8), ("250 MBps", 250e6 * 8), ("3 TBps", 3e12 * 8),
])
def test_datasheet_link_rate_spellings(text, base_bits_per_s):
    assert parse_quantity(text).to("bit/s").magnitude == pytest.approx(base_bits_per_s, rel=1e-12)
    assert Q_(text).to("bit/s").magnitude == pytest.approx(base_bits_per_s, rel=1e-12)


def test_ambiguous_bit_spellings_stay_refused_with_the_spelling_meant():
    for text, hint in [("400 Gb", "Gbit"), ("1 Gb/s", "Gbps"), ("8 Mb", "MB"), ("1 mbps", "Mbps"),
                       ("3 Kb", "kbit")]:
        with pytest.raises(UnitError, match=hint):
            parse_quantity(text)
    assert "mbps" not in ureg  # no bare 'bps' unit: 'mbps' would be millibits per second


@pytest.mark.parametrize("bad", ["9**9**9 T token", "2T 9**9**9", "1e999T token", "2T",
                                 "2TT token", "2 T token", "2T" + " token" * 20,
                                 "__import__('os') T token"])
def test_multiplier_keeps_the_strict_pattern(bad):
    with pytest.raises(UnitError):
        parse_quantity(bad)


# ---- every spelling the project shows a user parses --------------------------------------------

_ROOT = Path(__file__).resolve().parents[2]
_QUOTED = re.compile(r"""(?<![\w.])['"`]([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"""
                     r"""[kKMBGTP]?\s*[A-Za-zµμ%][A-Za-z0-9µμ%/*^ ._()-]*)['"`]""")
_UNIT_ARG = re.compile(r"""(?:Q_\([^,()]+,\s*|\.to\(|parse_unit\()["']([^"']+)["']""")


def _spellings():
    """(where, text, kind) of every quoted quantity in the library's string constants (error
    hints, docstrings), README and docs, and every unit passed to Q_ / .to() there."""
    found = []
    for path in sorted((_ROOT / "mlsysim_sym").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found += [(path.name, m, "quantity") for m in _QUOTED.findall(node.value)]
    docs = [_ROOT / "README.md", *sorted((_ROOT / "docs").rglob("*.md"))]
    for path in docs:
        text = path.read_text(encoding="utf-8")
        found += [(path.name, m, "quantity") for m in _QUOTED.findall(text)]
        found += [(path.name, m, "unit") for m in _UNIT_ARG.findall(text)]
    return found


#: quoted texts that look like quantities but are formulas or durations, not unit spellings
_NOT_QUANTITIES = {"4 min 05 s",   # progress.elapsed_text's output
                   "2 N B"}        # system.py: a symbolic expression in a docstring


def test_every_quantity_and_unit_shown_to_users_parses():
    spellings = _spellings()
    assert len(spellings) > 50
    bad = []
    for where, text, kind in spellings:
        if text in _NOT_QUANTITIES or " x " in text:  # 'x' is a multiplication sign in formulas
            continue
        try:
            parse_quantity(text) if kind == "quantity" else parse_unit(text)
        except UnitError as exc:
            bad.append(f"{where}: {text!r}: {exc}")
    assert not bad, "\n".join(bad)


def test_every_value_in_the_registry_yaml_parses():
    """Every quantity string in registry/data (the loader checks them too; this also covers the
    unit spellings a user copies from the shipped files)."""
    values = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("value",) and isinstance(v, str) or (isinstance(v, str)
                                                               and _looks_like_quantity(v)):
                    values.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for path in sorted((_ROOT / "mlsysim_sym" / "registry" / "data").rglob("*.yaml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert len(values) > 500
    for v in values:
        parse_quantity(v)


def _looks_like_quantity(text: str) -> bool:
    return len(text) <= 64 and re.fullmatch(r"[+-]?[\d.]+(?:[eE][+-]?\d+)?\s+[A-Za-z%µ][\w/%^*.]*",
                                            text) is not None


def test_every_common_unit_offered_in_hints_parses():
    for unit in COMMON_UNITS:
        parse_unit(unit)


_NEAR_MISSES = ["Gb", "Mb", "Tb", "kb", "Kb", "b", "mbps", "mBps", "T", "B", "M", "K", "tokn",
                "tokens", "GiBs", "Tflops", "TFLOPS", "TOPS", "PFLOPS", "wats", "msec", "usd", "hrs", "Wh", "kwh",
                "gCO2", "paramz", "GB/sec", "requests", "img", "imag"]


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(_NEAR_MISSES), st.sampled_from(["", "/s", "/h"]),
       st.sampled_from(["1", "2.5", "400"]))
def test_every_hint_an_error_prints_parses(name, suffix, number):
    """Whatever a malformed unit's message suggests (in quotes) is itself a valid spelling."""
    text = f"{number} {name}{suffix}"
    try:
        parse_quantity(text)
        return
    except UnitError as exc:
        message = str(exc)
    hint_part = message.split(" in the unit registry", 1)[-1]
    for hint in re.findall(r"'([^']+)'", hint_part):
        if hint in (name, f"{name}{suffix}", text) or " is " in hint:
            continue
        parse_quantity(hint) if hint[0].isdigit() else parse_unit(hint)
