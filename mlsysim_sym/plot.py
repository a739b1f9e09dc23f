"""Figures of results (optional extra ``[plot]``: matplotlib, imported inside the functions).

- :func:`roofline`: the chip's roofs (dense peak per precision, memory bandwidth, and the
  calibrated ceilings the prediction used) with the workload's operating points: prefill and
  decode of a prediction, the training step of a :func:`~mlsysim_sym.train` result (one point
  per sweep value when the result is vectorised).
- :func:`sweep`: any output against a swept knob (batch, context, tensor-parallel degree, micro
  batch, ...) of a vectorised result, with the bottleneck regions shaded; or against the chip,
  for a list of results.
- :func:`pareto`: the Pareto front of two outputs over a sweep
  (:func:`~mlsysim_sym.solvers.optimize.pareto_front`).
- :func:`tornado`: the first-order effect of a +-10% change of each input, from
  :func:`~mlsysim_sym.sensitivity` elasticities.
- :func:`breakdown`: a training step's time by term (compute split into GEMMs, attention and
  memory-bound kernels; exposed communication; pipeline bubble; optimizer; per-step overhead).

Every number drawn is read from the result (its outputs, its inputs, its registry objects);
nothing here re-derives the physics. Each function takes an optional ``ax`` (draw into an
existing matplotlib Axes) and ``path`` (write a PNG, then close the figure it created) and
returns the Axes.
"""

from __future__ import annotations

import math

import numpy as np

from .display import swept_inputs

__all__ = ["plot", "roofline", "sweep", "pareto", "tornado", "breakdown", "KINDS"]

KINDS = ("roofline", "sweep", "pareto", "tornado", "breakdown")

#: fill colour of each bottleneck (colour-blind-safe Okabe-Ito palette)
COLORS = {"Memory": "#0072B2", "Compute": "#D55E00", "Communication": "#009E73",
          "Pipeline": "#CC79A7", "Software": "#999999", "does not fit": "#BBBBBB"}
_REGION = {"Memory": "memory-bandwidth-bound", "Compute": "compute-bound",
           "Communication": "communication-bound", "Pipeline": "pipeline-bubble-bound",
           "Software": "overhead-bound", "does not fit": "does not fit in memory"}
#: axis labels of the knobs a sweep varies (their declared units in words)
_KNOB_LABELS = {"batch": "batch [sequences]", "context_length": "context length [token]",
                "prompt_length": "prompt length [token]",
                "tensor_parallel": "tensor-parallel degree [devices]",
                "micro_batch": "micro-batch [sequences]",
                "global_batch": "global batch [sequences]",
                "sequence_length": "sequence length [token]",
                "pipeline_parallel": "pipeline stages [devices]",
                "data_parallel": "data-parallel degree [replicas]",
                "context_parallel": "context-parallel degree [devices]",
                "expert_parallel": "expert-parallel degree [devices]",
                "pipeline_interleave": "model chunks per stage [chunks]"}
#: short names of the knobs in annotations and bar labels
_KNOB_SHORT = {"batch": "batch", "context_length": "context", "prompt_length": "prompt",
               "tensor_parallel": "tp", "pipeline_parallel": "pp", "data_parallel": "dp",
               "context_parallel": "cp", "expert_parallel": "ep", "micro_batch": "micro-batch",
               "global_batch": "global batch", "sequence_length": "seq len",
               "pipeline_interleave": "interleave"}
_KNOB_ALIASES = {"seq_len": "context_length", "context": "context_length",
                 "prompt": "prompt_length", "tp": "tensor_parallel", "pp": "pipeline_parallel",
                 "dp": "data_parallel", "cp": "context_parallel", "ep": "expert_parallel",
                 "chip": "hardware"}


def _mpl():
    try:
        import matplotlib  # noqa: F401
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plots need matplotlib, which is not installed: pip install "
                          "'mlsysim_sym[plot]'") from None
    return plt


def _axes(ax, size):
    if ax is not None:
        return ax, False
    plt = _mpl()
    _fig, ax = plt.subplots(figsize=size, layout="constrained")
    return ax, True


def _finish(ax, created, path):
    if path is not None:
        ax.figure.savefig(path, dpi=150)
        plt = _mpl()
        if created and not plt.isinteractive():  # scripts: free it; Jupyter: still show it
            plt.close(ax.figure)
    return ax


def _unit_label(q) -> str:
    u = f"{q.units:~P}"
    return u if u else "dimensionless"


def _label(name, q) -> str:
    return f"{name.replace('_', ' ')} [{_unit_label(q)}]"


def _num(x) -> str:
    """4 significant digits without an exponent for the magnitudes a chip's roofs take."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def _bad(arg, value, allowed):
    return ValueError(f"{arg}={value!r} is not allowed; allowed: {', '.join(allowed)}")


# ---------------------------------------------------------------------------------------------
# Reading results
# ---------------------------------------------------------------------------------------------
def _named_outputs(result) -> dict:
    """Every output a result reports, as quantities, by name."""
    out = {}
    if hasattr(result, "breakdown") and callable(result.breakdown):
        out.update(result.breakdown(unchecked=False))
    if hasattr(result, "outputs") and callable(result.outputs):
        out.update(result.outputs())
    for k in ("latency", "throughput", "step_time", "mfu", "hfu", "tokens_per_s",
              "memory_per_device", "memory_utilization", "step_flops", "step_bytes"):
        if k not in out:
            try:
                v = getattr(result, k)
            except (AttributeError, ValueError):
                continue
            if hasattr(v, "units"):
                out[k] = v
    return out


def _values(result, name):
    """(quantity array, axis label) of an output or a knob of ``result``."""
    name = _KNOB_ALIASES.get(name, name)
    knobs = swept_inputs(result)
    if name in knobs:
        q = knobs[name]
        return q, _KNOB_LABELS.get(name, _label(name, q))
    outs = _named_outputs(result)
    if name in outs:
        return outs[name], _label(name, outs[name])
    inputs = result.inputs() if hasattr(result, "inputs") else {}
    if name in inputs:
        return inputs[name], _KNOB_LABELS.get(name, _label(name, inputs[name]))
    raise _bad("y" if name not in _KNOB_LABELS else "x", name, sorted(outs) + sorted(knobs))


def _regions(result, shape):
    """Bottleneck label of every point: the binding wall, or "does not fit"."""
    b = np.broadcast_to(np.asarray(result.bottleneck, dtype=object), shape)
    f = np.broadcast_to(np.asarray(result.feasible, dtype=bool), shape)
    return np.where(f, b, "does not fit")


def _log_if_wide(ax, axis, values):
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size and v.min() > 0 and v.max() / v.min() >= 20:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
        return True
    return False


# ---------------------------------------------------------------------------------------------
# Roofline
# ---------------------------------------------------------------------------------------------
def _operating_points(result):
    """[(label, FLOPs, bytes, time)] of the phases a result evaluated (quantities)."""
    outs = _named_outputs(result)
    if "training_step_time" in getattr(result, "_ev_outputs", lambda: ())():
        return [("training step (per device)", result.step_flops, result.step_bytes,
                 result.breakdown(unchecked=False)["step_time"])]
    if "prefill_flops" in outs and "prefill_bytes" in outs:
        return [("prefill", outs["prefill_flops"], outs["prefill_bytes"], outs["ttft"]),
                ("decode", outs["decode_flops"], outs["decode_bytes"],
                 outs["time_per_output_token"])]
    if "flops" in outs and "bytes_moved" in outs:
        return [(f"{getattr(result, 'family', '')} forward pass".strip(), outs["flops"],
                 outs["bytes_moved"],
                 outs["latency"])]
    raise ValueError(f"roofline needs a result that reports the FLOPs and bytes of its steps "
                     f"(predict of a decoder/MoE LLM or CNN/ViT/encoder, or train); a "
                     f"{type(result).__name__} does not")


def roofline(result, *, ax=None, path=None, annotate=True):
    """The chip's roofline with the result's operating points (log-log).

    Roofs: the chip's dense peak at every precision it lists (the result's precision drawn
    solid) and its memory bandwidth, from the registry; for a tensor-parallel prediction the
    roofs of the whole TP group. Dotted: the calibrated ceilings the prediction used (peak x
    ``compute_efficiency``, bandwidth x ``memory_efficiency``). Points: arithmetic intensity
    (FLOPs / bytes) and attained rate (FLOPs / time) of each phase.
    """
    points = _operating_points(result)
    ax, created = _axes(ax, (7.5, 5))
    hw = result.hardware
    inputs = result.inputs()
    tp = inputs.get("tensor_parallel")
    group = 1.0
    if tp is not None and "training_step_time" not in getattr(result, "_ev_outputs", lambda: ())():
        group = float(np.max(np.asarray(tp.magnitude)))
    used, _note = hw.resolve_precision(result.precision)
    bw = (hw.memory_bandwidth * group).to("TB/s").magnitude
    # x range from the points and the ridge points
    ai = []
    for _lbl, fl, by, _t in points:
        a = np.asarray((fl / by).to("FLOP/B").magnitude, dtype=float).ravel()
        ai.extend(a[np.isfinite(a) & (a > 0)])
    peaks = {}
    for prec, q in hw.peaks.items():
        try:
            peaks[prec] = q.to("TFLOP/s").magnitude * group
        except Exception:  # noqa: BLE001 - integer peaks are in OP/s, not FLOP/s
            continue
    top = max(peaks.values())
    ridges = [p / bw for p in peaks.values()]
    lo = min(ai + ridges) / 10
    hi = max(ai + ridges) * 10
    x = np.geomspace(lo, hi, 256)
    ax.plot(x, np.minimum(bw * x, peaks[used]), color="black", lw=2.2,
            label=f"roofline at {used}: {_num(peaks[used])} TFLOP/s, {bw:.3g} TB/s")
    # every distinct peak: a dashed roof from its ridge point, labelled outside the axes
    for p in sorted(set(peaks.values()), reverse=True):
        same = [k for k, v in peaks.items() if v == p]
        mine = used in same
        if not mine:
            ax.plot([p / bw, hi], [p, p], color="0.55", lw=0.9, ls="--")
        ax.annotate(f"{'/'.join(same)}: {_num(p)} TFLOP/s", (1.0, p),
                    xycoords=("axes fraction", "data"), xytext=(4, 0),
                    textcoords="offset points", ha="left", va="center", fontsize=7,
                    color="black" if mine else "0.4", fontweight="bold" if mine else "normal")
    if top > peaks[used]:  # the bandwidth roof continues up to the highest peak
        ax.plot([peaks[used] / bw, top / bw], [peaks[used], top], color="0.55", lw=0.9, ls="--")
    ce, me = inputs.get("compute_efficiency"), inputs.get("memory_efficiency")
    if ce is not None and me is not None and np.ndim(ce.magnitude) == 0 \
            and np.ndim(me.magnitude) == 0:
        c, m = float(ce.to("").magnitude), float(me.to("").magnitude)
        ax.plot(x, np.minimum(bw * m * x, peaks[used] * c), color="black", lw=1, ls=":",
                label=f"calibrated ceilings: {c:.0%} of peak, {m:.0%} of bandwidth")
    markers = {"prefill": ("o", "#D55E00"), "decode": ("s", "#0072B2"),
               "training step (per device)": ("D", "#009E73")}
    knobs = swept_inputs(result)
    knob = next(iter(knobs), None)
    for lbl, fl, by, t in points:
        a = np.asarray((fl / by).to("FLOP/B").magnitude, dtype=float)
        perf = np.asarray((fl / t).to("TFLOP/s").magnitude, dtype=float)
        a, perf = np.broadcast_arrays(a, perf)
        a, perf = a.ravel(), perf.ravel()
        ok = np.isfinite(a) & np.isfinite(perf) & (perf > 0)
        mk, col = markers.get(lbl, ("^", "#CC79A7"))
        if ok.any():
            ax.plot(a[ok], perf[ok], marker=mk, color=col, ms=7, lw=1 if a.size > 1 else 0,
                    label=lbl + (f" ({knob.replace('_', ' ')} sweep)" if knob else ""))
        if (~ok).any():
            ax.plot([], [], marker=mk, color=COLORS["does not fit"], lw=0,
                    label=f"{lbl}: {int((~ok).sum())} point(s) do not fit in memory")
        if annotate and knob and ok.any():
            vals = np.broadcast_to(np.asarray(knobs[knob].magnitude), fl.magnitude.shape
                                   if np.ndim(fl.magnitude) else a.shape).ravel()
            for i in (np.nonzero(ok)[0][[0, -1]]):
                ax.annotate(f"{_KNOB_SHORT.get(knob, knob)} {vals[i]:g}", (a[i], perf[i]),
                            xytext=(6, -10), textcoords="offset points", fontsize=7, color=col)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ymin = min([bw * lo] + [float(np.nanmin(np.asarray((fl / t).to("TFLOP/s").magnitude,
                                                      dtype=float)))
                            for _l, fl, _b, t in points
                            if np.isfinite(np.asarray((fl / t).to("TFLOP/s").magnitude,
                                                      dtype=float)).any()])
    ax.set_ylim(ymin / 2, top * 2.5)
    ax.set_xlabel("arithmetic intensity [FLOP/B]")
    ax.set_ylabel("attained performance [TFLOP/s]")
    who = f"{result.model.name} on {hw.name}"
    if group > 1:
        who += f" (TP group of {group:g})"
    ax.set_title(f"Roofline: {who}, {result.precision}", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return _finish(ax, created, path)


# ---------------------------------------------------------------------------------------------
# Sweep
# ---------------------------------------------------------------------------------------------
def _shade(ax, xs, labels, log):
    """Shade contiguous runs of one bottleneck along a sorted x."""
    order = np.argsort(xs)
    xs, labels = np.asarray(xs, dtype=float)[order], np.asarray(labels, dtype=object)[order]
    if log:
        mids = np.sqrt(xs[1:] * xs[:-1])
        lo_edge, hi_edge = xs[0] / 1.15, xs[-1] * 1.15
    else:
        mids = (xs[1:] + xs[:-1]) / 2
        pad = (xs[-1] - xs[0]) * 0.03 or 0.5
        lo_edge, hi_edge = xs[0] - pad, xs[-1] + pad
    edges = np.concatenate([[lo_edge], mids, [hi_edge]])
    seen = set()
    start = 0
    for i in range(1, len(xs) + 1):
        if i == len(xs) or labels[i] != labels[start]:
            lab = str(labels[start])
            ax.axvspan(edges[start], edges[i], color=COLORS.get(lab, "#E69F00"), alpha=0.15,
                       lw=0, hatch="//" if lab == "does not fit" else None,
                       label=None if lab in seen else _REGION.get(lab, lab))
            seen.add(lab)
            start = i
    ax.set_xlim(lo_edge, hi_edge)


def sweep(result, y="latency", x=None, *, ax=None, path=None):
    """``y`` against the swept knob ``x`` of a vectorised result, bottleneck regions shaded.

    ``x`` defaults to the one knob that varies (batch, context_length, tensor_parallel,
    micro_batch, ...; aliases seq_len, tp, pp); with two varying knobs, one line per value of
    the other. A list (or dict) of results is a sweep over chips: one bar per result.
    """
    if isinstance(result, (list, tuple, dict)):
        return _sweep_results(result, y, ax=ax, path=path)
    knobs = swept_inputs(result)
    if not knobs:
        raise ValueError("sweep needs a vectorised result: pass an array knob, e.g. "
                         "predict(..., batch=np.arange(1, 257)), or a list of results (chips)")
    if x is None:
        x = next(iter(knobs))
    x = _KNOB_ALIASES.get(x, x)
    if x not in knobs:
        raise _bad("x", x, list(knobs))
    yq, ylabel = _values(result, y)
    xq = knobs[x]
    shape = np.broadcast_shapes(np.shape(xq.magnitude), np.shape(yq.magnitude),
                                np.shape(result.bottleneck))
    xs = np.broadcast_to(np.asarray(xq.magnitude, dtype=float), shape)
    ys = np.broadcast_to(np.asarray(yq.magnitude, dtype=float), shape)
    regions = _regions(result, shape)
    others = [k for k in knobs if k != x]
    ax, created = _axes(ax, (7.5, 4.8))
    log = _log_if_wide(ax, "x", xs)
    if not others:
        xs, ys, regions = xs.ravel(), ys.ravel(), regions.ravel()
        _shade(ax, xs, regions, log)
        order = np.argsort(xs)
        ax.plot(xs[order], ys[order], color="black", lw=1.5, marker="o", ms=3,
                label=y.replace("_", " "))
    else:
        other = others[0]
        oq = np.broadcast_to(np.asarray(knobs[other].magnitude, dtype=float), shape)
        styles = ("-", "--", ":", "-.")
        for j, v in enumerate(np.unique(oq)):
            sel = oq == v
            order = np.argsort(xs[sel])
            ax.plot(xs[sel][order], ys[sel][order], lw=1.3, color="0.25", ls=styles[j % 4],
                    label=f"{_KNOB_SHORT.get(other, other)} = {v:g}")
            for lab in np.unique(regions[sel]):
                m = regions[sel] == lab
                ax.scatter(xs[sel][m], ys[sel][m], s=14, color=COLORS.get(str(lab), "#E69F00"),
                           zorder=3)
        for lab in np.unique(regions):
            ax.scatter([], [], s=14, color=COLORS.get(str(lab), "#E69F00"),
                       label=_REGION.get(str(lab), str(lab)))
    _log_if_wide(ax, "y", ys)
    ax.set_xlabel(_KNOB_LABELS.get(x, x))
    ax.set_ylabel(ylabel)
    ax.set_title(f"{result.model.name} on {result.hardware.name}: {y.replace('_', ' ')} "
                 f"vs {x.replace('_', ' ')}", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return _finish(ax, created, path)


def _sweep_results(results, y, *, ax=None, path=None):
    """One bar per result (a sweep over chips), coloured by its bottleneck."""
    items = list(results.items()) if isinstance(results, dict) else \
        [(r.hardware.name, r) for r in results]
    if not items:
        raise ValueError("sweep over results needs at least one result")
    vals, labels, unit = [], [], None
    for _name, r in items:
        q, lbl = _values(r, y)
        if np.ndim(q.magnitude):
            raise ValueError("a sweep over chips takes scalar results (one point per chip)")
        unit = unit or q.units
        vals.append(float(q.to(unit).magnitude))
        labels.append(str(_regions(r, ())))
    ax, created = _axes(ax, (max(5.0, 1.1 * len(items) + 2), 4.5))
    names = [n for n, _ in items]
    ax.bar(range(len(items)), [v if math.isfinite(v) else 0 for v in vals],
           color=[COLORS.get(lab, "#E69F00") for lab in labels])
    ax.set_xticks(range(len(items)), names, rotation=30 if len(items) > 4 else 0, ha="right"
                  if len(items) > 4 else "center", fontsize=8)
    for lab in dict.fromkeys(labels):
        ax.bar([], [], color=COLORS.get(lab, "#E69F00"), label=_REGION.get(lab, lab))
    ax.set_ylabel(f"{y.replace('_', ' ')} [{_unit_label(1 * unit)}]")
    ax.set_xlabel("chip")
    ax.set_title(f"{items[0][1].model.name}: {y.replace('_', ' ')} by chip", fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _finish(ax, created, path)


# ---------------------------------------------------------------------------------------------
# Pareto front
# ---------------------------------------------------------------------------------------------
def pareto(result, x="time_per_output_token", y="decode_throughput", *, minimize=(True, False),
           ax=None, path=None):
    """The points of a sweep in (x, y) and their Pareto front (non-dominated points, joined).

    ``minimize`` says, per objective, whether less is better (latency, cost) or more
    (throughput); the front is :func:`~mlsysim_sym.solvers.optimize.pareto_front`. Points that
    do not fit in memory are drawn grey and are never on the front.
    """
    from .solvers.optimize import pareto_front
    xq, xlabel = _values(result, x)
    yq, ylabel = _values(result, y)
    shape = np.broadcast_shapes(np.shape(xq.magnitude), np.shape(yq.magnitude),
                                np.shape(result.feasible))
    xs = np.broadcast_to(np.asarray(xq.magnitude, dtype=float), shape).ravel()
    ys = np.broadcast_to(np.asarray(yq.magnitude, dtype=float), shape).ravel()
    fits = np.broadcast_to(np.asarray(result.feasible, dtype=bool), shape).ravel()
    xs_ok = np.where(fits, xs, np.nan)
    front = pareto_front(xs_ok, ys, minimize=tuple(minimize))
    ax, created = _axes(ax, (7, 4.8))
    ax.scatter(xs[fits], ys[fits], s=16, color="#56B4E9", label="design points")
    if (~fits).any():
        ax.scatter(xs[~fits], ys[~fits], s=16, color=COLORS["does not fit"],
                   label="does not fit in memory")
    ax.plot(xs[front], ys[front], color="#D55E00", lw=1.8, marker="o", ms=5,
            label=f"Pareto front ({len(front)} points)")
    knobs = swept_inputs(result)
    if knobs and len(front):
        step = max(1, len(front) // 6)
        for i in dict.fromkeys(list(front[::step]) + [front[-1]]):
            idx = np.unravel_index(i, shape)
            text = ", ".join(f"{_KNOB_SHORT.get(k, k)} {np.broadcast_to(q.magnitude, shape)[idx]:g}"
                             for k, q in knobs.items())
            ax.annotate(text, (xs[i], ys[i]), xytext=(5, 4), textcoords="offset points",
                        fontsize=7, color="#8c3a00")
    _log_if_wide(ax, "x", xs)
    _log_if_wide(ax, "y", ys)
    better = ("lower" if minimize[0] else "higher", "lower" if minimize[1] else "higher")
    ax.set_xlabel(f"{xlabel} ({better[0]} is better)")
    ax.set_ylabel(f"{ylabel} ({better[1]} is better)")
    ax.set_title(f"{result.model.name} on {result.hardware.name}: Pareto front", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return _finish(ax, created, path)


# ---------------------------------------------------------------------------------------------
# Sensitivity tornado
# ---------------------------------------------------------------------------------------------
def tornado(sens, *, top=12, change=0.10, ax=None, path=None):
    """Horizontal bars: the first-order change of the output (elasticity x ``change``, in %)
    for a +``change`` and a -``change`` change of each input, the largest at the top; inputs at
    a Max/Min kink are marked with their one-sided elasticities."""
    if not (0 < change < 1):
        raise ValueError(f"change must be a fraction in (0, 1), got {change!r}")
    ranked = sens.ranked()
    if any(np.ndim(e) for _n, e in ranked):
        raise ValueError("tornado needs a sensitivity at one point (scalar inputs)")
    ranked = [(n, float(e)) for n, e in ranked if float(e) != 0.0][:top]
    if not ranked:
        raise ValueError(f"{sens.output} does not depend on any input at this point")
    ax, created = _axes(ax, (7.5, 0.42 * len(ranked) + 1.6))
    names = [n for n, _ in ranked][::-1]
    up = np.array([e * change * 100 for _, e in ranked])[::-1]
    ax.barh(names, up, color="#D55E00", label=f"input +{change:.0%}")
    ax.barh(names, -up, color="#0072B2", label=f"input -{change:.0%}")
    ax.axvline(0, color="black", lw=0.8)
    for i, n in enumerate(names):
        if n in sens.one_sided:
            a, b = sens.one_sided[n]
            ax.annotate(f"kink: {float(a):.2g} / {float(b):.2g}", (max(abs(up[i]), 0), i),
                        xytext=(4, 0), textcoords="offset points", va="center", fontsize=7)
    lim = max(abs(up).max() * 1.35, 1e-3)
    ax.set_xlim(-lim, lim)
    val = sens.value
    ax.set_xlabel(f"change in {sens.output.replace('_', ' ')} [%] (first order: elasticity x "
                  f"{change:.0%})")
    ax.set_ylabel("input")
    ax.set_title(f"Sensitivity of {sens.output.replace('_', ' ')} = {val:.4g~P}", fontsize=10)
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _finish(ax, created, path)


# ---------------------------------------------------------------------------------------------
# Training-step breakdown
# ---------------------------------------------------------------------------------------------
#: (label, breakdown key or (key, minus keys...), colour)
_SEGMENTS = (("GEMMs (with launch overheads)", ("compute", "compute_attention",
                                                "compute_memory_bound"), "#D55E00"),
             ("attention core", "compute_attention", "#E69F00"),
             ("memory-bound kernels", "compute_memory_bound", "#F0E442"),
             ("TP communication (exposed)", "tp_communication", "#009E73"),
             ("PP communication (exposed)", "pp_communication", "#56B4E9"),
             ("CP communication (exposed)", "cp_communication", "#66C2A5"),
             ("EP communication (exposed)", "ep_communication", "#1B9E77"),
             ("DP communication (exposed)", "dp_communication", "#0072B2"),
             ("pipeline bubble", "pp_bubble", "#CC79A7"),
             ("optimizer update", "optimizer", "#999999"),
             ("per-step overhead", "step_overhead", "#555555"))


def breakdown(result, *, ax=None, path=None):
    """Stacked bar(s) of a training step's time by term (one bar per configuration of a
    vectorised result); the terms sum to the step time. Communication terms are the shares the
    step does not hide (what ``train`` charges: TP, PP and EP each beyond its own overlap
    fraction, CP beyond the blockwise attention, DP beyond the backward)."""
    if not hasattr(result, "breakdown"):
        raise ValueError(f"breakdown needs a train() result, got {type(result).__name__}")
    b = result.breakdown(unchecked=True)
    shape = np.broadcast_shapes(*(np.shape(q.magnitude) for q in b.values()))
    sec = {k: np.broadcast_to(np.asarray(q.to("s").magnitude, dtype=float), shape).ravel()
           for k, q in b.items() if q.check("[time]")}
    n = sec["step_time"].size
    total = sec["step_time"]
    unit, scale = ("ms", 1e3) if np.nanmax(total) < 1 else ("s", 1.0)
    knobs = swept_inputs(result)
    if knobs:
        flat = {k: np.broadcast_to(q.magnitude, shape).ravel() for k, q in knobs.items()}
        labels = [", ".join(f"{_KNOB_SHORT.get(k, k)} {v[i]:g}" for k, v in flat.items())
                  for i in range(n)]
    else:
        labels = [f"{result.model.name}\non {result.hardware.name}"]
    fits = np.broadcast_to(np.asarray(result.feasible, dtype=bool), shape).ravel()
    labels = [lbl + ("" if ok else " (does not fit)") for lbl, ok in zip(labels, fits)]
    ax, created = _axes(ax, (8.5, 0.55 * n + 2.4))
    left = np.zeros(n)
    for name, key, color in _SEGMENTS:
        if isinstance(key, tuple):
            v = sec[key[0]] - sum(sec[k] for k in key[1:])
        else:
            v = sec[key]
        if not np.any(v > 0):
            continue
        ax.barh(range(n), v * scale, left=left * scale, color=color, label=name,
                hatch=None, edgecolor="white", lw=0.5)
        left += v
    for i in range(n):
        ax.annotate(f"{total[i] * scale:.3g} {unit}", (left[i] * scale, i), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, np.nanmax(left) * scale * 1.25)
    ax.set_xlabel(f"time per training step [{unit}]")
    title = f"Training step: {result.model.name} on {result.hardware.name}"
    if not knobs:
        mfu = result.mfu
        if np.isfinite(float(mfu.magnitude)):
            title += f" (MFU {float(mfu.magnitude):.1%})"
    ax.set_title(title, fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _finish(ax, created, path)


# ---------------------------------------------------------------------------------------------
# Dispatch
# ---------------------------------------------------------------------------------------------
def _default_kind(obj) -> str:
    if hasattr(obj, "elasticities"):
        return "tornado"
    if isinstance(obj, (list, tuple, dict)):
        return "sweep"
    if hasattr(obj, "breakdown") and not swept_inputs(obj):
        return "breakdown"
    return "sweep" if swept_inputs(obj) else "roofline"


def plot(obj, kind=None, *, path=None, **options):
    """Draw a result: ``kind`` is roofline, sweep, pareto, tornado or breakdown (default: the
    tornado of a sensitivity, the breakdown of a training step, the sweep of a vectorised
    result, else the roofline). ``path`` writes a PNG. Returns the matplotlib Axes."""
    kind = kind or _default_kind(obj)
    funcs = {"roofline": roofline, "sweep": sweep, "pareto": pareto, "tornado": tornado,
             "breakdown": breakdown}
    if kind not in funcs:
        raise _bad("kind", kind, KINDS)
    return funcs[kind](obj, path=path, **options)
