"""Names, aliases, close matches, user files, clashes, lazy loading."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlsysim_sym.registry import Hardware, RegistryError, RegistryLookupError

from .conftest import chip, tiny_model, write_user_file


@pytest.fixture
def loaded(empty_registry, tmp_path):
    path = write_user_file(tmp_path, [chip("acme-h100"), chip("acme-h200"), chip("zeta-z9")])
    empty_registry.load(path)
    return empty_registry


def test_user_chip_is_found_by_name_after_load(empty_registry, tmp_path):
    path = write_user_file(tmp_path, [chip("acme-x1")])
    (obj,) = empty_registry.load(path)
    assert isinstance(obj, Hardware) and obj.name == "acme-x1"
    assert empty_registry.hardware("acme-x1") is obj
    assert empty_registry.list_hardware() == [obj]
    assert empty_registry.list_hardware(vendor="ACME", tier="datacenter") == [obj]
    assert empty_registry.list_hardware(tier="mcu") == []
    assert empty_registry.list_models() == []


def test_describe_shows_values_with_sources(loaded):
    text = loaded.describe("ACME-H100-sxm")
    assert text.startswith("acme-h100: ACME X1 SXM 192GB (hardware, ")
    assert "memory.0.bandwidth" in text and "8 TB/s" in text
    assert "[acme-x1-datasheet; derived; Table 3" in text  # the fp8 override
    with pytest.raises(RegistryLookupError) as info:
        loaded.describe("acme-h10")
    assert "acme-h100" in info.value.suggestions


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.booleans(), min_size=16, max_size=16))
def test_names_and_aliases_are_case_insensitive(loaded, flips):
    target = loaded.hardware("acme-h100")
    for name in ("acme-h100", "acme-h100-sxm", "ACME-H100-BOARD"):
        mixed = "".join(c.upper() if f else c.lower() for c, f in zip(name, flips * 2))
        assert loaded.hardware(mixed) is target
        assert loaded.hardware(f"  {mixed} ") is target


def test_typo_lists_close_matches_and_how_to_list(loaded):
    with pytest.raises(RegistryLookupError) as info:
        loaded.hardware("acme-h10")
    err = info.value
    assert isinstance(err, LookupError) and isinstance(err, ValueError)
    assert set(err.suggestions[:2]) == {"acme-h100", "acme-h200"}
    assert "zeta-z9" not in err.suggestions
    assert "did you mean" in str(err) and "list_hardware()" in str(err)


def test_substring_typo_is_suggested(loaded):
    with pytest.raises(RegistryLookupError) as info:
        loaded.hardware("h10")
    assert "acme-h100" in info.value.suggestions


def test_object_is_returned_unchanged(loaded):
    obj = loaded.hardware("acme-h100")
    assert loaded.hardware(obj) is obj
    with pytest.raises(TypeError):
        loaded.hardware(42)


def test_name_of_another_kind_says_which_kind(loaded, tmp_path):
    loaded.load(write_user_file(tmp_path, [tiny_model()], kind="model", filename="m.yaml"))
    with pytest.raises(RegistryLookupError) as info:
        loaded.hardware("tiny-lm")
    assert "is a model" in str(info.value) and "registry.model(" in str(info.value)
    assert loaded.model("TINY-LM").name == "tiny-lm"


def test_clash_with_existing_name_is_an_error_naming_both_files(loaded, tmp_path):
    other = tmp_path / "sub"
    other.mkdir()
    path = write_user_file(other, [chip("acme-h100-new", aliases=["ACME-H100"])],
                           filename="other.yaml")
    with pytest.raises(RegistryError) as info:
        loaded.load(path)
    text = str(info.value)
    assert "other.yaml" in text and "my_chip.yaml" in text and info.value.field == "aliases"
    assert "override=True" in text
    with pytest.raises(RegistryLookupError):
        loaded.hardware("acme-h100-new")


def test_override_replaces_existing_entry(loaded, tmp_path):
    other = tmp_path / "sub"
    other.mkdir()
    path = write_user_file(other, [chip("acme-h100", tdp="1500 W")], filename="other.yaml")
    (new,) = loaded.load(path, override=True)
    assert loaded.hardware("acme-h100") is new
    assert new.tdp.to("W").magnitude == 1500


def test_reloading_the_same_file_replaces_its_entries(loaded, tmp_path):
    path = write_user_file(tmp_path, [chip("acme-h100", tdp="900 W"), chip("acme-h200"),
                                      chip("zeta-z9")])
    loaded.load(path)
    assert loaded.hardware("acme-h100").tdp.to("W").magnitude == 900


def test_duplicate_inside_one_file_is_an_error(empty_registry, tmp_path):
    path = write_user_file(tmp_path, [chip("acme-a", aliases=["same"]),
                                      chip("acme-b", aliases=["SAME"])])
    with pytest.raises(RegistryError) as info:
        empty_registry.load(path)
    assert info.value.entry == "acme-b" and "'acme-a'" in str(info.value)


def test_search_finds_by_words(loaded):
    hits = loaded.search("acme h200")
    assert hits and hits[0].name == "acme-h200"
    assert loaded.search("ZETA-Z9")[0].name == "zeta-z9"
    assert loaded.search("nothing-like-this") == []


def test_source_lookup(loaded):
    assert loaded.source("acme-x1-datasheet").publisher == "ACME Corp."
    with pytest.raises(RegistryLookupError) as info:
        loaded.source("acme-x1-datashet")
    assert "acme-x1-datasheet" in info.value.suggestions


def test_sources_file_then_plain_list_file(empty_registry, tmp_path):
    import yaml
    from .conftest import SOURCES
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump({"kind": "source", "entries": SOURCES}))
    assert empty_registry.load(sources) == []
    chips = tmp_path / "chips.yaml"
    chips.write_text(yaml.safe_dump([chip("acme-list")], sort_keys=False))
    (obj,) = empty_registry.load(chips)
    assert obj.entry_kind == "hardware" and empty_registry.hardware("ACME-LIST") is obj


def test_import_reads_no_yaml_and_first_access_loads_once():
    code = textwrap.dedent("""
        import mlsysim_sym.registry as r
        from mlsysim_sym.registry import validation  # the YAML reader (loader imports it)
        calls = []
        real = validation.read_yaml
        validation.read_yaml = lambda *a, **k: calls.append(a[0]) or real(*a, **k)
        assert r._registry is None, "import must not load the registry"
        assert calls == []
        try:
            first = r.get_registry()
        except r.RegistryError:
            first = None
        n = len(calls)
        if first is not None:
            assert r.get_registry() is first and len(calls) == n, "second access must be cached"
        print(n)
    """)
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=root)
    assert int(out.stdout.strip()) >= 0
