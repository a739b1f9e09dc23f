"""The measurement file format: the shipped set loads, bad files fail with file, entry, field."""

import pytest

from mlsysim_sym.calibration import (MeasurementError, build_cases, load_measurements,
                                     shipped_measurements)
from tests.calibration.shipped import shipped_cases

GOOD = {"id": "m1", "category": "inference", "measured": {"metric": "decode", "value": 61.0,
                                                           "unit": "tokens/s"}}


def test_shipped_set_has_279_unique_measurements():
    ms = shipped_measurements()
    assert len(ms) == 145 + 134
    assert len({m.id for m in ms}) == 145 + 134
    assert {m.category for m in ms} == {"training", "inference", "tinyml", "energy", "other"}


def test_every_shipped_measurement_is_reproduced_or_says_why():
    cases, uncovered = shipped_cases()
    assert len(cases) + len(uncovered) == 145 + 134
    assert len(cases) >= 135
    for u in uncovered:
        assert len(u.why) > 20, u.id  # a reason in words, not a placeholder


def test_assumptions_are_recorded_where_a_source_is_silent():
    cases, _ = shipped_cases()
    by_id = {c.id: c for c in cases}
    # BigScience prints DP8 x TP8 x PP10 for 320 GPUs: the case must say what it did
    c = by_id["train-bigscience-tr11-187b-h13824-l80-dp8pp10-mbs4-a100x320"]
    assert any("DP = 4" in a for a in c.assumptions)


@pytest.mark.parametrize("entry, field", [
    ({**GOOD, "id": ""}, "id"),
    ({**GOOD, "category": "benchmarks"}, "category"),
    ({**GOOD, "measured": {"metric": "x", "value": -3, "unit": "s"}}, "measured.value"),
    ({**GOOD, "measured": {"metric": "x", "value": True, "unit": "s"}}, "measured.value"),
    ({**GOOD, "measured": "fast"}, "measured"),
    ({**GOOD, "mlsysim": "train"}, "mlsysim"),
])
def test_bad_entries_name_the_entry_and_the_field(entry, field):
    with pytest.raises(MeasurementError) as exc:
        load_measurements([entry])
    assert f"field {field!r}" in str(exc.value)


def test_unknown_category_lists_the_allowed_ones():
    with pytest.raises(MeasurementError, match="training, inference, tinyml, energy, other"):
        load_measurements([{**GOOD, "category": "speed"}])


def test_duplicate_ids_are_refused():
    with pytest.raises(MeasurementError, match="appears twice"):
        load_measurements([GOOD, GOOD])


def test_yaml_python_tags_are_not_executed(tmp_path):
    f = tmp_path / "evil.yaml"
    f.write_text("- !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(MeasurementError, match="not valid YAML"):
        load_measurements(f)


def test_missing_file_says_so(tmp_path):
    with pytest.raises(MeasurementError, match="cannot read"):
        load_measurements(tmp_path / "nope.yaml")


def test_a_file_that_is_not_a_list_is_refused(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text("id: m1\n")
    with pytest.raises(MeasurementError, match="list of measurement entries"):
        load_measurements(f)


def test_entry_without_reproduction_is_not_covered():
    cases, uncovered = build_cases(load_measurements([GOOD]))
    assert not cases and uncovered[0].why.startswith("no 'mlsysim' block")
