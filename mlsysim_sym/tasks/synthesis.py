"""Inverse roofline: the hardware a model needs to meet a latency SLA (wall 22 as a task).

``synthesize(model, targets={"time_per_output_token": "20 ms", "ttft": "500 ms"},
unknowns=["memory_bandwidth", "peak_flops", "memory_capacity"], batch=..., seq_len=...)`` solves
the composed serving system backwards. Each unknown's requirement is solved per target with the
other unknown hardware terms out of the way (at the top of their plausible range), so each is a
necessary condition; the largest over the targets is the requirement and that target is the one
that binds. Memory capacity is the footprint (memory_utilization = 1). Every registry chip that
has the precision is then compared with the requirements.
"""

from __future__ import annotations

import numpy as np

from .. import checks, registry, vocabulary
from ..defaults import default
from .serving import serving_system
from ..solvers.inverse import BaseValues, SolveResult, solve_for
from ..checks import InputError
from ._core import inputs as _in, knobs
from ..symbols import info
from ..units import base_factor

__all__ = ["synthesize", "Synthesis"]

_ALIASES = {"tpot": "time_per_output_token", "itl": "time_per_output_token",
            "time_to_first_token": "ttft", "latency": "time_per_output_token"}
_HARDWARE_UNKNOWNS = ("peak_flops", "memory_bandwidth", "memory_capacity")


class Synthesis(dict):
    """``{unknown: SolveResult}`` plus which target binds each and how registry chips compare.

    Attributes
    ----------
    binding_target : dict
        ``{unknown: target name}`` that sets the requirement.
    per_target : dict
        ``{unknown: {target: SolveResult}}``.
    chips : list of dict
        One row per registry chip with the precision: ``name`` and, per unknown, the ratio of the
        chip's value to the requirement (>= 1 meets it), plus ``meets`` (all ratios >= 1).
    """

    binding_target: dict
    per_target: dict
    chips: list

    def to_dict(self) -> dict:
        """JSON-ready dict: per unknown its solve (``SolveResult.to_dict``) and the target that
        binds it, and the registry chips compared with the requirements (``chips``: ratios of
        the chip's value to the requirement, NaN as None)."""
        d = {u: {**r.to_dict(), "binding_target": self.binding_target.get(u)}
             for u, r in self.items()}
        d["chips"] = [{k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                       for k, v in row.items()} for row in getattr(self, "chips", [])]
        return d

    def table(self) -> str:
        head = f"{'chip':28s}" + "".join(f"{u:>18s}" for u in self) + "  meets"
        lines = [head]
        for row in self.chips:
            lines.append(f"{row['name']:28s}" + "".join(f"{row[u]:18.3g}" for u in self)
                         + f"  {row['meets']}")
        return "\n".join(lines)


def synthesize(model, targets, unknowns=("memory_bandwidth", "peak_flops"), *, batch=1,
               seq_len=2048, precision="fp16", given=None, compare=True) -> Synthesis:
    """The minimum chip specs that meet latency targets for ``model``.

    Parameters
    ----------
    model : str or Model
    targets : dict
        ``{"time_per_output_token" | "tpot" | "ttft": "20 ms", ...}``.
    unknowns : iterable of str
        Among ``peak_flops``, ``memory_bandwidth``, ``memory_capacity``.
    batch, seq_len : int
        Batch size and context (prompt) length [token].
    precision : str
    given : dict, optional
        Values for hardware terms that are not unknowns, or overrides of the efficiencies /
        fixed overhead (quantities, quantity strings or numbers in the symbol's declared unit,
        ``ms.symbols.info(name).unit``). Each is checked: finite, positive (>= 0 where zero is
        meaningful, such as ``fixed_overhead``), at most 1 for a fraction, and an input of the
        serving system; anything else raises ``InputError`` (a ``ValueError``).
    compare : bool
        Compare every registry chip with the requirements.

    Returns
    -------
    Synthesis
        ``{unknown: SolveResult}`` with ``.binding_target`` and ``.chips``.
    """
    unknowns, tnames = _check_request(targets, unknowns, given)
    vocabulary.precision(precision)
    precision = precision.lower()
    m = registry.model(model)
    b = checks.count("batch", batch, *info("batch").bounds)
    s = checks.count("seq_len", seq_len, *info("context_length").bounds)
    if isinstance(b, np.ndarray) or isinstance(s, np.ndarray):
        raise InputError("synthesize takes one batch and one seq_len (whole numbers), not arrays: "
                         "loop over the values you want to compare")
    # MLA: the latent dimensions; sliding window: the window and its share of the layers
    system = serving_system(_in.latent_attention(m), _in.sliding_window(m))
    known = _known_values(m, precision, b, s)
    _apply_given(known, given, system, unknowns)
    out = Synthesis()
    out.binding_target, out.per_target = {}, {}
    for u in unknowns:
        out.per_target[u] = res = _solve_unknown(system, u, unknowns, known, tnames)
        out.binding_target[u], out[u] = _binding(res)
    out.chips = _compare_chips(out, precision) if compare else []
    return out


def _check_request(targets, unknowns, given):
    """(unknowns as a list, ``{target name: value}``) after checking the request's shape."""
    if isinstance(unknowns, str):
        unknowns = [unknowns]
    if not isinstance(unknowns, (list, tuple)) or not all(isinstance(u, str) for u in unknowns):
        raise InputError(f"unknowns must be a list among {', '.join(_HARDWARE_UNKNOWNS)}; got "
                         f"{unknowns!r:.60}")
    unknowns = list(unknowns)
    if not isinstance(targets, dict):
        raise InputError(f"targets must be a dict such as {{'tpot': '20 ms'}}, got {targets!r:.60}")
    if given is not None and not isinstance(given, dict):
        raise InputError(f"given must be a dict {{input name: value}}, got {given!r:.60}")
    bad = [u for u in unknowns if u not in _HARDWARE_UNKNOWNS]
    if bad:
        raise ValueError(f"unknowns must be among {', '.join(_HARDWARE_UNKNOWNS)}; got {bad}")
    if not targets:
        raise ValueError("targets is empty: give e.g. {'time_per_output_token': '20 ms'}")
    tnames = {}
    for t, v in targets.items():
        name = _ALIASES.get(t, t)
        if name not in ("time_per_output_token", "ttft"):
            raise ValueError(f"unknown target {t!r}; allowed: time_per_output_token (tpot), ttft")
        tnames[name] = v
    return unknowns, tnames


def _known_values(m, precision, b, s) -> dict:
    """Base magnitudes of every serving input but the chip's: the model, the precision, the
    pooled calibrated efficiencies, the workload and one chip's (vanishing) TP link."""
    known = dict(zip(_in.model_input_names(m), _in.cached(_in.model_magnitudes, m)))
    known.update(zip(_in.PRECISION_INPUTS, _in.precision_magnitudes(precision)))
    known.update(zip(_in.EFFICIENCY_INPUTS, knobs.default_efficiency()))
    known.update(batch=b, prompt_length=s, context_length=s, prefill_chunk_tokens=0.0,
                 max_batched_tokens=_in.max_batched_tokens_magnitude(None),
                 prefix_cache_hit_rate=0.0, attention_data_parallel=1.0)
    # one chip (tensor_parallel = 1): wall 4's tensor-parallel all-reduces are exactly zero, the
    # scale-up link values only have to be finite (``given`` may override them)
    known.update(tensor_parallel=1.0,
                 scale_up_bandwidth=checks.scalar_value("scale_up_bandwidth",
                                                        info("scale_up_bandwidth").bounds[1]),
                 scale_up_latency=checks.scalar_value("scale_up_latency",
                                                      default("scale_up_latency")),
                 scale_up_peer_access=0.0,
                 allreduce_fixed_time=checks.scalar_value("allreduce_fixed_time",
                                                          default("allreduce_fixed_time")),
                 communication_efficiency=checks.scalar_value("communication_efficiency",
                                                              default("communication_efficiency")),
                 unoverlapped_fraction=checks.scalar_value("unoverlapped_fraction",
                                                           default("unoverlapped_fraction")))
    return known


def _apply_given(known, given, system, unknowns) -> None:
    """``given`` into ``known`` (checked: an input of the serving system that is not an
    unknown; finite, positive, fractions <= 1); the hardware terms neither unknown nor given
    out of the way, at the top of their plausible range."""
    allowed = {x.name for x in system.inputs} - set(unknowns)
    for k, v in (given or {}).items():
        if k not in allowed:
            raise InputError(f"given: {k!r} is not an input of the serving system"
                             + (" (it is an unknown)" if k in unknowns else "")
                             + f"; allowed: {', '.join(sorted(allowed))}")
        known[k] = checks.scalar_value(k, v)
    for h in _in.HARDWARE_INPUTS:
        if h not in unknowns and h not in known:
            known[h] = _top_of_range(h)


def _top_of_range(name) -> float:
    """Base magnitude of the top of ``name``'s plausible range."""
    return info(name).bounds[1] * base_factor(info(name).unit)


def _solve_unknown(system, u, unknowns, known, tnames) -> dict:
    """``{target: SolveResult}`` of unknown ``u``, the other unknowns out of the way (at the
    top of their range); memory capacity is the footprint (memory_utilization = 1)."""
    point = BaseValues(known)
    for other in unknowns:
        if other != u:
            point[other] = _top_of_range(other)
    point.pop(u, None)
    if u == "memory_capacity":
        return {"memory_footprint": solve_for(system, u, {"memory_utilization": 1.0}, point)}
    return {t: solve_for(system, u, {t: v}, point) for t, v in tnames.items()}


def _binding(res) -> tuple:
    """(target, SolveResult) that sets the requirement: the first infeasible target's, or the
    largest requirement over the targets."""
    feasible = {t: r for t, r in res.items() if r.feasible and r.value is not None}
    if len(feasible) < len(res):
        worst = next(r for r in res.values() if not (r.feasible and r.value is not None))
        return next(t for t, r in res.items() if r is worst), worst
    return max(feasible.items(), key=lambda kv: kv[1].value.to_base_units().magnitude)


def _chip_value(hw, unknown, precision):
    if unknown == "peak_flops":
        return hw.peak_flops(precision)
    return getattr(hw, unknown)


def _compare_chips(result: Synthesis, precision: str) -> list:
    rows = []
    for name in registry.list_hardware():
        hw = registry.hardware(name)
        if precision not in getattr(hw, "precisions", ()):
            continue
        row = {"name": hw.name}
        ok = True
        for u, r in result.items():
            if not isinstance(r, SolveResult) or r.value is None:
                row[u] = float("nan")
                ok = False
                continue
            try:
                have = _chip_value(hw, u, precision)
            except (ValueError, LookupError):
                row[u] = float("nan")
                ok = False
                continue
            ratio = float((have / r.value).to("").magnitude) if have is not None else float("nan")
            row[u] = ratio
            ok = ok and bool(np.isfinite(ratio) and ratio >= 1.0)
        row["meets"] = ok
        rows.append(row)
    rows.sort(key=lambda r: (not r["meets"], r["name"]))
    return rows
