"""The audit on small data directories written to tmp_path."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import yaml

from mlsysim_sym.registry.audit import audit, main

from .conftest import SOURCES, chip, tiny_model

# tiny_model(): 2 layers, hidden 64, 4 heads / 2 kv heads, gated FFN 128, vocab 1000, untied:
# embeddings 2 x 64 000 + per layer (q 4096 + k,v 2 x 2048 + o 4096 + FFN 24 576 + 2 x 64)
# + final norm 64 = 128 000 + 2 x 36 992 + 64 = 202 048 parameters.
TINY_PARAMS = 202_048


def write_dir(root, hardware=(), models=(), sources=None, extra=None):
    (root / "sources").mkdir(parents=True, exist_ok=True)
    (root / "sources" / "s.yaml").write_text(yaml.safe_dump(sources or SOURCES))
    if hardware:
        (root / "hardware").mkdir(exist_ok=True)
        (root / "hardware" / "acme.yaml").write_text(yaml.safe_dump(list(hardware), sort_keys=False))
    if models:
        (root / "models").mkdir(exist_ok=True)
        (root / "models" / "tiny.yaml").write_text(yaml.safe_dump(list(models), sort_keys=False))
    for rel, doc in (extra or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(yaml.safe_dump(doc, sort_keys=False))
    return root


def published(value):
    return {"value": f"{value} param", "locator": "Table 1", "basis": "paper"}


def test_clean_directory_has_no_problems(tmp_path):
    root = write_dir(tmp_path, [chip()], [tiny_model(published_params=published(TINY_PARAMS))])
    assert audit(root) == []
    out = io.StringIO()
    assert main([str(root)], stream=out) == 0
    assert "0 error(s)" in out.getvalue()


def test_derived_count_off_by_more_than_2_percent_fails(tmp_path):
    root = write_dir(tmp_path, models=[tiny_model(published_params=published(TINY_PARAMS * 1.1))])
    (problem,) = audit(root)
    assert problem.entry == "tiny-lm" and problem.field == "published_params"
    assert "-9.1 %" in problem.message and "doe-2025-tiny" in problem.message
    out = io.StringIO()
    assert main([str(root)], stream=out) == 1 and "tiny-lm" in out.getvalue()


def test_within_2_percent_passes(tmp_path):
    root = write_dir(tmp_path, models=[tiny_model(published_params=published(TINY_PARAMS * 1.019))])
    assert audit(root) == []


def test_sparse_peak_below_dense_fails(tmp_path):
    root = write_dir(tmp_path, [chip(peak_sparse={"fp8": "1000 TFLOP/s"})])
    (problem,) = audit(root)
    assert problem.entry == "acme-x1" and problem.field == "peak_sparse.fp8"
    assert "below the dense peak" in problem.message


def test_alias_clash_across_files_names_both(tmp_path):
    root = write_dir(tmp_path, [chip("acme-x1")],
                     extra={"hardware/other.yaml": [chip("acme-x2", aliases=["ACME-X1-SXM"])]})
    (problem,) = audit(root)
    assert "acme.yaml" in problem.message and "other.yaml" in problem.file
    assert problem.entry == "acme-x2" and problem.field == "aliases"


def test_load_errors_are_all_reported(tmp_path):
    future = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    bad = [chip("acme-a", tdp=700),
           chip("acme-b", provenance={**chip()["provenance"], "retrieved": future}),
           chip("acme-c", provenance={**chip()["provenance"], "source": "missing-source"})]
    problems = audit(write_dir(tmp_path, bad))
    assert {(p.entry, p.field) for p in problems} == {
        ("acme-a", "tdp"), ("acme-b", "provenance.retrieved"), ("acme-c", "provenance.source")}


def test_source_without_url_or_doi_fails(tmp_path):
    sources = {**SOURCES, "lonely": {"title": "x", "publisher": "y", "year": 2020,
                                     "kind": "webpage"}}
    (problem,) = audit(write_dir(tmp_path, [chip()], sources=sources))
    assert problem.entry == "lonely" and "doi" in problem.message


def test_unused_source_is_only_a_warning(tmp_path):
    root = write_dir(tmp_path, [chip()])
    assert audit(root) == []
    warnings = audit(root, warnings=True)
    assert [w.entry for w in warnings] == ["doe-2025-tiny"]
    assert warnings[0].severity == "warning"
    assert main([str(root), "--warnings"], stream=io.StringIO()) == 0


def test_user_file_is_audited_on_top_of_shipped_data(tmp_path):
    from .conftest import write_user_file
    path = write_user_file(tmp_path, [chip("acme-userchip-zz", peak_sparse={"fp8": "1 TFLOP/s"})])
    problems = [p for p in audit(path) if p.entry == "acme-userchip-zz"]
    assert [p.field for p in problems] == ["peak_sparse.fp8"]


@pytest.mark.parametrize("bad_doc", [{"kind": "hardware", "entries": [{"name": "x"}]},
                                     "just a string", {"kind": "spaceships", "entries": []}])
def test_malformed_files_do_not_crash_the_audit(tmp_path, bad_doc):
    root = write_dir(tmp_path, extra={"hardware/bad.yaml": bad_doc})
    problems = audit(root)
    assert problems and all("bad.yaml" in p.file for p in problems)


def test_registry_audit_stays_callable_after_its_module_is_imported():
    import importlib
    import mlsysim_sym.registry as registry
    importlib.import_module("mlsysim_sym.registry.audit")
    assert callable(registry.audit)
    assert registry.audit() == []          # the shipped registry has no problem
