"""cite() returns exactly the sources a result used; latex() prints walls, systems, expressions."""

import sympy

import mlsysim_sym as ms
from mlsysim_sym.citations import values_used


def test_cite_prediction_lists_equation_references_and_registry_sources():
    r = ms.predict("llama-3-8b", "h100")
    bib = ms.cite(r)
    for key in ("pope2023inference", "williams2009roofline", "kaplan2020scaling"):
        assert "{" + key + "," in bib
    hw_sources = {r.hardware.provenance(f).source
                  for f in ("peak.fp16", "memory.0.bandwidth", "memory.0.capacity")}
    for sid in hw_sources | {r.model.provenance("layers").source}:
        assert "{" + sid + "," in bib
    # exactly those: no other registry source appears
    entries = [line.split("{", 1)[1].rstrip(",") for line in bib.splitlines() if line.startswith("@")]
    registry_entries = set(entries) - set(r.system.references()) - {"mlsysim_sym_defaults"}
    assert registry_entries == hw_sources | {r.model.provenance("layers").source}
    # and the calibrated defaults it used, with how they were fitted
    assert "@misc{mlsysim_sym_defaults," in bib and "compute_efficiency[serve" in bib


def test_values_used_have_sources_and_values():
    rows = values_used(ms.predict("llama-3-8b", "h100", precision="fp8"))
    peak = next(row for row in rows if row["field"].startswith("peak."))
    assert peak["field"] == "peak.fp8" and peak["source"] and peak["value"].to("TFLOP/s").magnitude > 1000


def test_latex_of_wall_system_and_expression():
    assert r"\begin{align}" in ms.latex(ms.walls.memory)
    r = ms.predict("llama-3-8b", "h100")
    assert r"T_{\mathrm{TPOT}}" in ms.latex(r)
    expr = r.system.expr("kv_cache_bytes")
    # over a TP group of t ranks the KV heads are replicated when the attention's TP degree
    # t / d_a exceeds them (d_a: attention data parallelism, 1 without it)
    assert ms.latex(expr) == (r"2\,B\,S\,d_{h}\,b_{kv}\,L\,\max\left(H_{kv}, "
                              r"\frac{t}{d_{a}}\right)")
    assert ms.latex(sympy.diff(expr, ms.symbols.batch)) == \
        r"2\,S\,d_{h}\,b_{kv}\,L\,\max\left(H_{kv}, \frac{t}{d_{a}}\right)"
