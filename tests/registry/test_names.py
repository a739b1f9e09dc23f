"""The registry's name index (no pint, no pydantic), filters, describe, and user files that hold
nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlsysim_sym.registry import RegistryError, RegistryLookupError
from mlsysim_sym.registry import names as names_mod
from mlsysim_sym.registry.names import KINDS

from .conftest import chip, write_user_file

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_index_equals_the_loaded_registrys_index(shipped_registry):
    """The light index (names read straight from the YAML) is exactly the loaded index."""
    reg = shipped_registry.get_registry()
    index = names_mod.shipped_index()
    expected = {names_mod.key(n): (kind, obj.name) for kind in KINDS for obj in reg.objects(kind)
                for n in (obj.name, *obj.aliases)}
    assert index == expected and len(index) > 400


@pytest.mark.parametrize("kind,name,needle", [
    ("hardware", "h1000", "did you mean: h100 (nvidia-h100-sxm)"),
    ("model", "llama-3-9b", "did you mean: llama-3-8b"),
    ("hardware", "llama-3-8b", "is a model (llama-3-8b), not a hardware"),
    ("datacenter", "zzzz-nowhere", "list them all with mlsysim_sym.registry.list_datacenters()"),
])
def test_canonical_name_raises_what_the_loaded_registry_raises(shipped_registry, kind, name,
                                                               needle):
    with pytest.raises(RegistryLookupError) as light:
        shipped_registry.canonical_name(kind, name)
    assert shipped_registry._registry is None, "the light path must not load the registry"
    shipped_registry.get_registry()
    with pytest.raises(RegistryLookupError) as full:
        shipped_registry.canonical_name(kind, name)
    assert str(light.value) == str(full.value) and needle in str(light.value)
    assert light.value.suggestions == full.value.suggestions


def test_canonical_name_of_aliases(shipped_registry):
    assert shipped_registry.canonical_name("hardware", " H100 ") == "nvidia-h100-sxm"
    assert shipped_registry.canonical_name("model", "Llama-3-8B") == "llama-3-8b"


def test_importing_the_registry_and_checking_a_name_loads_no_heavy_module():
    code = textwrap.dedent("""
        import sys
        import mlsysim_sym.registry as r
        assert r.canonical_name("hardware", "h100") == "nvidia-h100-sxm"
        try:
            r.canonical_name("hardware", "h1000")
        except r.RegistryLookupError as exc:
            assert "h100" in str(exc)
        print(",".join(m for m in ("pint", "pydantic", "sympy", "numpy") if m in sys.modules))
        r.hardware("h100")  # the full registry still loads on first real use
        print(type(r.hardware("h100")).__name__)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.split("\n")
    assert out[0] == "" and out[1] == "Hardware"


# ---- filters -----------------------------------------------------------------------------------

@pytest.mark.parametrize("call,needles", [
    (lambda r: r.list_hardware(vendor="nvdia"), ["unknown vendor 'nvdia'", "did you mean: nvidia",
                                                 "known: amd, "]),
    (lambda r: r.list_hardware(tier="datacentre"), ["unknown tier", "datacenter"]),
    (lambda r: r.list_models(family="transformer"), ["unknown family", "decoder, "]),
])
def test_unknown_filter_values_are_errors(shipped_registry, call, needles):
    with pytest.raises(RegistryLookupError) as exc:
        call(shipped_registry)
    for needle in needles:
        assert needle in str(exc.value)


def test_known_filter_values_still_filter(shipped_registry):
    nvidia = shipped_registry.list_hardware(vendor="NVIDIA")
    assert nvidia and all(h.vendor == "nvidia" for h in nvidia)
    assert shipped_registry.list_hardware(vendor="nvidia", tier="mcu") == []
    assert {m.family for m in shipped_registry.list_models(family="MoE")} == {"moe"}
    with pytest.raises(TypeError):
        shipped_registry.list_hardware(vendor=3)


# ---- describe ----------------------------------------------------------------------------------

def test_describe_every_entry_and_source(shipped_registry):
    reg = shipped_registry.get_registry()
    for kind in KINDS:
        for obj in reg.objects(kind):
            text = shipped_registry.describe(obj.name)
            assert text.startswith(f"{obj.name}: ") and "Traceback" not in text
            if kind == "hardware" and obj.architecture:
                assert f"  architecture: {obj.architecture}" in text
    text = shipped_registry.describe("hw-nvidia-h100-page")
    assert text.startswith("hw-nvidia-h100-page: ") and "url: https://" in text


# ---- user files that hold nothing --------------------------------------------------------------

@pytest.mark.parametrize("text,needle", [
    ("", "the file is empty: expected a list of entries or a mapping"),
    ("\n# comment only\n", "the file is empty"),
    ("[]\n", "the file holds no entries"),
    ("kind: model\nentries: []\n", "the file holds no entries"),
    ("kind: system\n", "the file holds no entries"),
    ("42\n", "the file holds a number at the top level"),
    ("name: acme-x1\npeak: {fp16: 1 TFLOP/s}\n", "one entry without a list around it"),
])
def test_loading_a_file_without_entries_is_an_error_naming_it(empty_registry, tmp_path, text,
                                                              needle):
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    with pytest.raises(RegistryError) as exc:
        empty_registry.load(path)
    message = str(exc.value)
    assert message.startswith(str(path)) and needle in message and "\n" not in message
    assert empty_registry.get_registry().user_files == []


def test_unknown_name_after_loading_says_which_files_were_loaded(empty_registry, tmp_path):
    one = write_user_file(tmp_path, [chip("acme-x1")], filename="one.yaml")
    two = write_user_file(tmp_path, [chip("acme-x2")], filename="two.yaml")
    empty_registry.load(one)
    empty_registry.load(two)
    with pytest.raises(RegistryLookupError) as exc:
        empty_registry.hardware("acme-x3")
    message = str(exc.value)
    assert f"your files loaded: {one} (hardware acme-x1); {two} (hardware acme-x2)" in message
    assert "acme-x1" in message.split("did you mean: ")[1].split("?")[0]
    with pytest.raises(RegistryLookupError, match="your files loaded"):
        empty_registry.describe("nothing-like-this")
