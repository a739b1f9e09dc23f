"""The registry read back from the on-disk cache (registry/store.py).

A registry built from the cache equals the one validated from the YAML, object by object; a
corrupt, stale or unreadable entry is rebuilt, never fatal; an edited data file is never served
stale; a user's file is still validated; a warm command line imports no pydantic.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys

import pytest
import yaml

import mlsysim_sym.registry as registry
from mlsysim_sym import cache
from mlsysim_sym.registry import DATA_DIR, RegistryError, names, store
from mlsysim_sym.registry.audit import audit
from mlsysim_sym.registry.loader import Registry
from mlsysim_sym.registry.names import KINDS

from .conftest import chip, write_user_file

REFERENCES = ("node", "accelerator", "fabric", "datacenter", "scale_up_fabric",
              "scale_out_fabric")


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A fresh, empty cache directory (and no payload kept in the process)."""
    root = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV, str(root))
    monkeypatch.setattr(store, "_MEMO", {})
    return root


def _entry_files(root):
    return sorted((root / store.KIND).glob("*.json"))


def _validated(root=DATA_DIR, **kwargs):
    """The registry validated from the YAML, the cache turned off."""
    old = os.environ.get(cache.ENV)
    os.environ[cache.ENV] = ""
    try:
        return Registry.from_directory(root, **kwargs)
    finally:
        if old is None:
            del os.environ[cache.ENV]
        else:
            os.environ[cache.ENV] = old


def _cached(root=DATA_DIR):
    """The registry built from a warm cache (fails if it was validated instead)."""
    store._MEMO.clear()
    reg = Registry.from_directory(root)
    assert all("_cached" in vars(obj) for kind in KINDS for obj in reg.objects(kind))
    return reg


def _attributes(obj) -> dict:
    """An object's attributes, references by name (their own attributes are compared there)."""
    out = {}
    for key, value in vars(obj).items():
        if key == "_cached":
            continue
        if key in REFERENCES:
            value = None if value is None else (value.entry_kind, value.name)
        elif key == "memory_tiers":
            value = [repr(t) for t in value]
        out[key] = value
    return out


def assert_same_registry(a: Registry, b: Registry) -> None:
    assert a._index == b._index and list(a._index) == list(b._index)
    assert a._files == b._files and a._source_files == b._source_files
    assert list(a.sources) == list(b.sources) and a.sources == b.sources
    assert a.user_files == b.user_files == []
    for kind in KINDS:
        assert list(a._objects[kind]) == list(b._objects[kind])
        for name, x in a._objects[kind].items():
            y = b._objects[kind][name]
            assert type(x) is type(y)
            assert x.to_dict() == y.to_dict(), name
            assert x.to_dict(brief=True) == y.to_dict(brief=True), name
            assert x.describe() == y.describe(), name
            assert x.spec == y.spec and x.spec.model_fields_set == y.spec.model_fields_set
            assert x.quantities() == y.quantities()
            assert x.provenance_map() == y.provenance_map(), name
            for path in x.quantities():
                assert x.value(path) == y.value(path)
                assert x.provenance(path) == y.provenance(path)
            assert x.sources == y.sources and list(x.sources) == list(y.sources)
            assert x.source_ids == y.source_ids
            if kind == "model":
                for block in ("moe", "mla", "ssm", "diffusion", "input"):
                    assert getattr(x, block) == getattr(y, block), (name, block)
                assert x.parameters == y.parameters
            assert _attributes(x) == _attributes(y), name


def test_registry_from_the_cache_equals_the_registry_from_the_yaml(cache_dir):
    first = Registry.from_directory()                    # validated, then stored
    assert len(_entry_files(cache_dir)) == 1
    assert not any("_cached" in vars(o) for k in KINDS for o in first.objects(k))
    warm = _cached()
    assert_same_registry(warm, _validated())
    assert_same_registry(warm, first)


def test_audit_and_citations_read_the_same_from_the_cache(cache_dir, monkeypatch):
    monkeypatch.setattr(registry, "_registry", None)
    Registry.from_directory()                             # fill the cache
    store._MEMO.clear()
    warm = [str(p) for p in audit(warnings=True)]
    monkeypatch.setenv(cache.ENV, "")
    assert warm == [str(p) for p in audit(warnings=True)]
    monkeypatch.setenv(cache.ENV, str(cache_dir))
    chips = ["h100", "a100", "tpu-v5p"]
    monkeypatch.setattr(registry, "_registry", _cached())
    cached_bib = registry.bibtex([registry.hardware(c) for c in chips])
    monkeypatch.setattr(registry, "_registry", _validated())
    assert cached_bib == registry.bibtex([registry.hardware(c) for c in chips])


def test_a_corrupt_or_inconsistent_entry_is_rebuilt(cache_dir):
    Registry.from_directory()
    (path,) = _entry_files(cache_dir)
    path.write_bytes(path.read_bytes()[:1000])            # truncated
    store._MEMO.clear()
    reg = Registry.from_directory()                       # validated again, rewritten
    assert not any("_cached" in vars(o) for k in KINDS for o in reg.objects(k))
    _cached()
    # a payload that reads as JSON with a valid checksum but does not describe a registry
    header, _, body = path.read_bytes().partition(b"\n")
    import json
    payload = json.loads(body)
    payload["objects"][0][0] = "not-a-kind"
    files = store.data_files(DATA_DIR)
    assert store.write(DATA_DIR, files, payload)
    store._MEMO.clear()
    reg = Registry.from_directory()
    assert registry.canonical_name("hardware", "h100") == "nvidia-h100-sxm"
    assert reg.get("hardware", "h100").memory_bandwidth.to("TB/s").magnitude == 3.35
    _cached()                                             # and stored right again


def test_the_cache_turned_off_or_unwritable_is_not_fatal(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "_MEMO", {})
    monkeypatch.setenv(cache.ENV, "")
    assert Registry.from_directory().get("model", "llama-3-8b").layers == 32
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(cache.ENV, str(blocker / "cache"))
    assert Registry.from_directory().get("model", "llama-3-8b").layers == 32


def _copy_data(tmp_path):
    root = tmp_path / "data"
    shutil.copytree(DATA_DIR, root)
    return root


def test_an_edited_data_file_is_not_served_stale(cache_dir, tmp_path):
    root = _copy_data(tmp_path)
    before = {h.name: h.tdp for h in Registry.from_directory(root).objects("hardware")}
    _cached(root)
    path = root / "hardware" / "nvidia.yaml"
    text = path.read_text(encoding="utf-8")
    assert 'tdp: "700 W"' in text
    path.write_text(text.replace('tdp: "700 W"', 'tdp: "701 W"', 1), encoding="utf-8")
    reg = Registry.from_directory(root)                   # same process, same path
    assert not any("_cached" in vars(o) for k in KINDS for o in reg.objects(k))
    changed = [h.name for h in reg.objects("hardware") if h.tdp != before[h.name]]
    assert len(changed) == 1 and reg.get("hardware", changed[0]).tdp.magnitude == 701
    assert len(_entry_files(cache_dir)) == 1              # the stale entry was replaced
    assert _cached(root).get("hardware", changed[0]).tdp.magnitude == 701


def test_a_directory_with_problems_is_not_cached(cache_dir, tmp_path):
    root = _copy_data(tmp_path)
    (root / "hardware" / "bad.yaml").write_text(yaml.safe_dump([chip("acme-x1", tdp=700)]))
    reg, errors = Registry.from_directory(root, collect=True)
    assert errors and "bare number" in str(errors[0])
    assert _entry_files(cache_dir) == []


def test_a_user_file_is_validated_against_a_cached_registry(cache_dir, tmp_path, monkeypatch):
    Registry.from_directory()
    monkeypatch.setattr(registry, "_registry", _cached())
    bad = write_user_file(tmp_path, [chip("acme-x1", tdp=700)], filename="bad.yaml")
    with pytest.raises(RegistryError, match="bare number"):
        registry.load(bad)
    good = write_user_file(tmp_path, [chip("acme-x1")], filename="good.yaml")
    (obj,) = registry.load(good)
    assert "_cached" not in vars(obj) and registry.hardware("ACME-X1") is obj
    node = {"kind": "system", "nodes": [{
        "name": "acme-h100-box", "accelerator": "h100", "accelerators_per_node": 8,
        "provenance": {"source": "acme-box-sheet", "locator": "p. 1",
                       "retrieved": "2026-01-15", "basis": "vendor_spec"}}],
        "sources": {"acme-box-sheet": {"title": "ACME box", "publisher": "ACME", "year": 2026,
                                       "url": "https://example.com/x", "kind": "datasheet"}}}
    path = tmp_path / "node.yaml"
    path.write_text(yaml.safe_dump(node))
    (box,) = registry.load(path)
    assert box.accelerator is registry.hardware("h100") and "_cached" in vars(box.accelerator)
    assert box.sources["hw-nvidia-h100-page"] == registry.source("hw-nvidia-h100-page")


def test_the_shipped_index_is_read_from_the_cache(cache_dir, monkeypatch):
    names.shipped_index.cache_clear()
    from_yaml = names.shipped_index()                    # cold: read from the YAML
    Registry.from_directory()
    names.shipped_index.cache_clear()
    store._MEMO.clear()
    def no_yaml(*args, **kwargs):
        raise AssertionError("the cached index reads no YAML")

    monkeypatch.setattr(yaml, "load", no_yaml)
    try:
        assert names.shipped_index() == from_yaml
    finally:
        names.shipped_index.cache_clear()


@pytest.mark.parametrize("value", [
    None, True, 0, -3, 2**70, 1.5, float("inf"), "", "text", "\x00starts with NUL", "\x00d",
    dt.date(2024, 5, 1), dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc),
    [1, "a", [dt.date(2020, 1, 1)]], {"k": {"nested": ["\x00\x00", None]}}])
def test_tagged_json_round_trips(value):
    import json
    back = store.decode(json.loads(json.dumps(store.encode(value))))
    assert back == value and type(back) is type(value)


@pytest.mark.parametrize("value", [{1: "int key"}, {"\x00k": 1}, (1, 2), {1, 2}, b"bytes"])
def test_what_cannot_be_stored_exactly_is_refused(value):
    with pytest.raises(store.Unencodable):
        store.encode(value)


_PROBE = """
import sys
from mlsysim_sym.cli import main
rc = main({argv!r})
print("RESULT", rc, *(m in sys.modules for m in ("pydantic", "sympy")))
"""


def test_a_warm_cli_imports_no_pydantic(tmp_path):
    env = dict(os.environ, **{cache.ENV: str(tmp_path)})
    code = _PROBE.format(argv=["predict", "llama-3-8b", "h100"])
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=300, env=env) for _ in range(2)]
    results = [[x for x in p.stdout.splitlines() if x.startswith("RESULT")] for p in runs]
    assert all(results), [p.stderr for p in runs]
    assert results[0][-1].split() == ["RESULT", "0", "True", "True"]    # cold: validated
    assert results[1][-1].split() == ["RESULT", "0", "False", "False"]  # warm
    table = [[x for x in p.stdout.splitlines() if not x.startswith("RESULT")] for p in runs]
    assert table[0] == table[1] and any("time per output token" in x for x in table[1])
