"""Notebook displays: HTML tables of results and registry entries, LaTeX of walls, equations and
systems, pandas DataFrames of sweeps and validation reports, and the ``plot`` entry point.

One shared implementation for every result class (:class:`ResultDisplay` is the mixin they
inherit: ``_repr_html_``, ``to_frame``, ``plot``); each reads what the result already reports
(``to_dict``, ``registry_fields``, ``system.references()``, ``bottleneck``) and formats it, so a
new result class gets the displays by inheriting the mixin. Nothing heavy is imported here:
pandas is imported inside :func:`result_frame` / :func:`validation_frame`, matplotlib inside
:mod:`mlsysim_sym.plot`. The LaTeX of walls, equations and systems for notebooks is
:func:`mlsysim_sym.report.notebook_latex` (it sits beside the equations).
"""

from __future__ import annotations

import dataclasses
import html
import math

import numpy as np

from .vocabulary import BOTTLENECKS

__all__ = ["ResultDisplay", "result_html", "registry_html", "result_frame", "frame_columns",
           "rows_frame",
           "rows_html", "validation_frame", "column_name", "swept_inputs"]

#: inputs a sweep may vary, per result kind, with the name a user knows them by
_KNOBS = ("batch", "context_length", "prompt_length", "tensor_parallel", "micro_batch",
          "global_batch", "sequence_length", "pipeline_parallel", "data_parallel",
          "context_parallel", "expert_parallel", "pipeline_interleave")


def _need(module: str, extra: str):
    try:
        return __import__(module)
    except ImportError:
        raise ImportError(f"this needs {module}, which is not installed: pip install "
                          f"'mlsysim_sym[{extra}]'") from None


def column_name(name: str, unit: str) -> str:
    """``"time_per_output_token [ms]"``; a dimensionless quantity keeps its bare name."""
    unit = (unit or "").strip()
    return f"{name} [{unit}]" if unit and unit != "dimensionless" else name


def _unit_text(q) -> str:
    return f"{q.units:~P}"


def _is_quantity(v) -> bool:
    return hasattr(v, "magnitude") and hasattr(v, "units")


# ---------------------------------------------------------------------------------------------
# What a result reports, as (name, value, unit) rows
# ---------------------------------------------------------------------------------------------
def _encoded(result) -> dict:
    """``to_dict()`` when the result has one; else its dataclass fields with quantities encoded
    the same way ({"value", "unit"})."""
    if hasattr(result, "to_dict"):
        return result.to_dict()
    if dataclasses.is_dataclass(result):
        out = {}
        for f in dataclasses.fields(result):
            v = getattr(result, f.name)
            if _is_quantity(v):
                m = v.magnitude
                out[f.name] = {"value": m.tolist() if isinstance(m, np.ndarray) else float(m),
                               "unit": _unit_text(v)}
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                out[f.name] = {"value": float(v), "unit": ""}
            elif isinstance(v, (str, bool)) or v is None:
                out[f.name] = v
            elif hasattr(v, "name") and f.name in ("model", "hardware", "datacenter"):
                out[f.name] = v.name
        return out
    raise TypeError(f"cannot display a {type(result).__name__}: it has no to_dict()")


def _split(d: dict):
    """(quantities {name: (value, unit)}, labels {name: value}) of an encoded result."""
    qs, labels = {}, {}
    for k, v in d.items():
        if isinstance(v, dict) and "value" in v and "unit" in v:
            qs[k] = (v["value"], v["unit"])
        elif not isinstance(v, (dict, list)) or k in ("bottleneck", "feasible", "binding_term"):
            labels[k] = v
    return qs, labels


def swept_inputs(result) -> dict:
    """The knobs of a vectorised result that vary: ``{name: quantity array}`` (declared units)."""
    inputs = getattr(result, "inputs", None)
    if inputs is None:
        return {}
    out = {}
    for k, q in inputs().items():
        if k in _KNOBS and np.ndim(q.magnitude) and np.unique(np.asarray(q.magnitude)).size > 1:
            out[k] = q
    if "prompt_length" in out and "context_length" in out:  # predict(seq_len=...) sets both
        del out["prompt_length"]
    return out


def _fmt(value) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return html.escape(str(value))
    if isinstance(value, list):
        arr = np.asarray(value, dtype=float).ravel()
        fin = arr[np.isfinite(arr)]
        if fin.size == 0:
            return f"({arr.size} points, none finite)"
        return f"{fin.min():.4g} &hellip; {fin.max():.4g} ({arr.size} points)"
    v = float(value)
    return "n/a (does not fit)" if math.isnan(v) else f"{v:.4g}"


def _label_text(v) -> str:
    if isinstance(v, list):
        flat = np.asarray(v, dtype=object).ravel()
        counts = {}
        for x in flat:
            counts[str(x)] = counts.get(str(x), 0) + 1
        return ", ".join(f"{html.escape(k)} ({n})" for k, n in counts.items())
    return html.escape(str(v))


def _sources_html(result) -> str:
    parts = []
    if hasattr(result, "registry_fields"):
        from .analysis.citations import values_used
        try:
            rows = values_used(result)
        except Exception:  # noqa: BLE001 - a display never fails on a missing provenance
            rows = []
        if rows:
            body = "".join(
                "<tr><td>" + html.escape(r["entry"]) + "</td><td><code>" + html.escape(r["field"])
                + "</code></td><td>" + (html.escape(format(r["value"], "~P"))
                                         if r["value"] is not None else "")
                + "</td><td>" + html.escape(str(r["source"])) + "</td><td>"
                + html.escape(str(r["locator"] or "")) + "</td></tr>" for r in rows)
            parts.append("<details><summary>registry values used (" + str(len(rows)) +
                         ")</summary><table><tr><th>entry</th><th>field</th><th>value</th>"
                         "<th>source</th><th>where</th></tr>" + body + "</table></details>")
    else:
        ids = set()
        for attr in ("model", "hardware", "datacenter"):
            obj = getattr(result, attr, None)
            ids |= set(getattr(obj, "source_ids", ()) or ())
        if ids:
            parts.append("<p>registry sources: " + html.escape(", ".join(sorted(ids))) + "</p>")
    system = getattr(result, "system", None)
    refs = getattr(system, "references", None)
    if callable(refs):
        hints = ["<code>" + ("r.cite()" if hasattr(result, "cite") else "mlsysim_sym.cite(r)")
                 + "</code> for BibTeX"]
        if hasattr(result, "explain"):
            hints.append("<code>r.explain()</code> for the equations with numbers")
        parts.append(f"<p>equations: {html.escape(system.name)} system, citing "
                     + html.escape(", ".join(refs())) + " (" + ", ".join(hints) + ")</p>")
    return "".join(parts)


def result_html(result) -> str:
    """HTML of a result: headline, bottleneck, a table of every output with its unit, and the
    sources of the numbers (registry values with their provenance, the equations' citations)."""
    d = _encoded(result)
    qs, labels = _split(d)
    model, hw = labels.get("model"), labels.get("hardware")
    title = type(result).__name__
    if model:
        title += f": {model}" + (f" on {hw}" if hw else "")
    elif hw:
        title += f" on {hw}"
    extra = [f"{k} {labels[k]}" for k in ("phase", "precision", "family") if labels.get(k)]
    if extra:
        title += f" ({', '.join(extra)})"
    lines = [f"<div class='mlsysim-result'><p><b>{html.escape(title)}</b></p>"]
    if "bottleneck" in labels:
        detail = getattr(result, "bottleneck_detail", None)
        term = labels.get("binding_term")
        more = f" ({html.escape(detail)})" if isinstance(detail, str) else \
            (f" (largest term: {_label_text(term)})" if term is not None else "")
        lines.append(f"<p>bottleneck: <b>{_label_text(labels['bottleneck'])}</b>{more}; "
                     f"feasible: {_label_text(labels.get('feasible'))}</p>")
    swept = swept_inputs(result)
    if swept:
        lines.append("<p>sweep over " + html.escape(", ".join(
            f"{k} ({np.asarray(q.magnitude).size} values)" for k, q in swept.items()))
            + "; <code>.to_frame()</code> gives every point, <code>.plot()</code> draws it</p>")
    rows = "".join(f"<tr><td style='text-align:left'>{html.escape(k)}</td>"
                   f"<td style='text-align:right'>{_fmt(v)}</td>"
                   f"<td style='text-align:left'>{html.escape(u)}</td></tr>"
                   for k, (v, u) in qs.items())
    lines.append("<table><tr><th>output</th><th>value</th><th>unit</th></tr>" + rows + "</table>")
    bands = getattr(result, "bands", None)
    if bands:
        body = "".join(
            f"<tr><td style='text-align:left'>{html.escape(k)}</td>"
            + "".join(f"<td style='text-align:right'>{float(q.to(b.p50.units).magnitude):.4g}</td>"
                      for q in b)
            + f"<td style='text-align:left'>{html.escape(_unit_text(b.p50))}</td></tr>"
            for k, b in bands.items())
        lines.append("<p>uncertainty (calibrated parameters' spread and the model's "
                     "cross-validated error):</p><table><tr><th>output</th><th>p10</th>"
                     "<th>p50</th><th>p90</th><th>unit</th></tr>" + body + "</table>")
    notes = (list(getattr(result, "assumptions", ()) or ())
             + list(getattr(result, "notes", ()) or ()))
    if notes:
        lines.append("<details><summary>assumptions and notes (" + str(len(notes)) +
                     ")</summary><ul>" + "".join(f"<li>{html.escape(str(n))}</li>" for n in notes)
                     + "</ul></details>")
    lines.append(_sources_html(result))
    lines.append("</div>")
    return "".join(lines)


def registry_html(obj) -> str:
    """HTML of a registry entry: identity, derived values, every value with its source."""
    head = (f"<p><b>{html.escape(obj.display_name)}</b> (<code>{html.escape(obj.name)}</code>, "
            f"{html.escape(obj.entry_kind)})</p>")
    if obj.aliases:
        head += f"<p>aliases: {html.escape(', '.join(obj.aliases))}</p>"
    derived = "".join(f"<tr><td>{html.escape(label)}</td><td>"
                      + html.escape(f"{val:~P}" if _is_quantity(val) else str(val))
                      + "</td></tr>" for label, val in obj._summary())
    body = []
    for path, v in obj._values.items():
        p = v.provenance
        body.append(f"<tr><td><code>{html.escape(path)}</code></td>"
                    f"<td style='text-align:right'>{html.escape(v.text)}</td>"
                    f"<td>{html.escape(str(p.source))}</td><td>{html.escape(str(p.basis))}</td>"
                    f"<td>{html.escape(str(p.locator or ''))}</td></tr>")
    out = [head]
    if derived:
        out.append("<table>" + derived + "</table>")
    out.append("<table><tr><th>field</th><th>value</th><th>source</th><th>basis</th>"
               "<th>where</th></tr>" + "".join(body) + "</table>")
    if obj.notes:
        out.append(f"<p>notes: {html.escape(obj.notes)}</p>")
    return "<div class='mlsysim-entry'>" + "".join(out) + "</div>"


# ---------------------------------------------------------------------------------------------
# DataFrames
# ---------------------------------------------------------------------------------------------
def frame_columns(result):
    """``(quantities {name: (values, unit)}, labels {name: values})`` of a result for
    :func:`result_frame`, from ``to_dict()``; a vectorised bottleneck as its int8 codes."""
    qs, labels = _split(_encoded(result))
    if isinstance(labels.get("bottleneck"), list) and hasattr(result, "bottleneck_code"):
        try:
            labels["bottleneck"] = np.asarray(result.bottleneck_code, dtype=np.int8)
        except ValueError:  # a name outside BOTTLENECKS: keep the names
            pass
    return qs, labels


def result_frame(result):
    """One row per point of a (vectorised) result: the knobs that vary, then every output with
    its unit in the column name, then the labels (bottleneck, feasible, ...); the bottleneck
    is a pandas Categorical over :data:`~mlsysim_sym.vocabulary.BOTTLENECKS` (from its codes)."""
    pd = _need("pandas", "plot")
    qs, labels = result.frame_columns()
    cols, categorical = {}, set()
    for k, q in swept_inputs(result).items():
        cols[column_name(k, _unit_text(q))] = np.asarray(q.magnitude)
    for k, (v, u) in qs.items():
        cols[column_name(k, u)] = np.asarray(v, dtype=float)
    for k, v in labels.items():
        if k == "bottleneck" and isinstance(v, np.ndarray) and v.dtype == np.int8:
            cols[k] = v
            categorical.add(k)
        else:
            cols[k] = np.asarray(v, dtype=object)
    shape = np.broadcast_shapes(*(a.shape for a in cols.values()))
    flat = {k: np.broadcast_to(a, shape).ravel() for k, a in cols.items()}
    for k in categorical:
        flat[k] = pd.Categorical.from_codes(flat[k], categories=list(BOTTLENECKS))
    return pd.DataFrame(flat)


def _row_cells(rows):
    """{column name: values} of a list of dict rows; quantities in the first row's unit."""
    cols = {}
    for key in rows[0]:
        first = rows[0][key]
        if _is_quantity(first):
            unit = first.units
            cols[column_name(key, _unit_text(first))] = [
                float(r[key].to(unit).magnitude) for r in rows]
        else:
            cols[key] = [r[key] for r in rows]
    return cols


def rows_frame(rows):
    """pandas DataFrame of a list of dict rows (a plan's ranked layouts), units in the names."""
    pd = _need("pandas", "plot")
    return pd.DataFrame(_row_cells(rows) if rows else {})


def rows_html(title, rows, limit=20) -> str:
    """HTML table of the first ``limit`` dict rows under ``title``."""
    out = [f"<div class='mlsysim-result'><p><b>{html.escape(title)}</b></p>"]
    if rows:
        cols = _row_cells(rows[:limit])
        out.append("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in cols) + "</tr>")
        for i in range(len(rows[:limit])):
            cells = (_fmt(v[i]) if isinstance(v[i], float) else html.escape(str(v[i]))
                     for v in cols.values())
            out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        out.append("</table>")
        if len(rows) > limit:
            out.append(f"<p>{len(rows) - limit} more rows: <code>.to_frame()</code></p>")
    return "".join(out) + "</div>"


def validation_frame(report):
    """One row per measurement of a validation report (calibration set, then the external check).

    Measured and predicted values are in the row's own unit (column ``unit``: each measurement
    keeps the unit its source reports); errors are in percent."""
    pd = _need("pandas", "plot")
    rows = []
    for kind, rs in (("calibration", report.rows), ("external", report.external)):
        for r in rs:
            lo, mid, hi = r.band
            rows.append({
                "id": r.id, "set": kind, "category": r.category, "vendor": r.vendor,
                "regime": r.regime, "source": r.source, "unit": r.unit, "measured": r.measured, "in_sample": r.in_sample,
                "in_sample_error [%]": 100 * r.in_sample_error,
                "loso": r.loso, "loso_error [%]": 100 * r.loso_error,
                "p10": lo, "p50": mid, "p90": hi,
                "in_band": r.in_band if math.isfinite(lo) else None,
                "cross_generation": r.cross_generation})
    cols = ["id", "set", "category", "vendor", "regime", "source", "unit", "measured", "in_sample",
            "in_sample_error [%]", "loso", "loso_error [%]", "p10", "p50", "p90", "in_band",
            "cross_generation"]
    return pd.DataFrame(rows, columns=cols)


# ---------------------------------------------------------------------------------------------
# The mixin the result classes inherit
# ---------------------------------------------------------------------------------------------
class ResultDisplay:
    """Notebook display, DataFrame and plot of a result (shared by every result class)."""

    __slots__ = ()

    def _repr_html_(self) -> str:
        return result_html(self)

    def to_frame(self):
        """pandas DataFrame: one row per point, units in the column names."""
        return result_frame(self)

    def frame_columns(self):
        """What :meth:`to_frame` shows: ``(quantities {name: (values, unit)}, labels {name:
        values})`` (from ``to_dict()``; a vectorised bottleneck as int8 codes)."""
        return frame_columns(self)

    def plot(self, kind=None, path=None, **options):
        """Draw this result (see :func:`mlsysim_sym.plot.plot`); ``path`` writes a PNG."""
        from .plot import plot
        return plot(self, kind=kind, path=path, **options)
