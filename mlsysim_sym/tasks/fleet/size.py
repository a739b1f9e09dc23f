"""``size_fleet()``: the minimum serving fleet that meets a latency SLO at a request rate.

``size_fleet`` searches every tensor-parallel degree (chips without a scale-up link in the
registry are searched at ``tp = 1`` only) and, for each, the least number of replicas meeting the
SLO (integers searched exactly on the monotone step time and TTFT of the load kernel,
:mod:`.load`, for every chip and degree at once: :mod:`.search`), so the result is the
minimum: one device fewer violates a constraint.
Each candidate chip's best layout is then priced and its carbon taken in the cleanest grid region
(:mod:`.costs`); budget and carbon caps rule layouts out, and the objective (devices, cost or
carbon) picks among the chips.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ... import checks, registry, vocabulary
from ...symbols import info
from ...units import Q_, base_factor, quantity_json, to_base
from .._core.inputs import check_tp, latent_attention, sliding_window
from .._core.result import Result
from .costs import fleet_carbon, fleet_cost
from .load import check_load, load_inputs, load_kernel, positive, whole
from .search import least_replicas

__all__ = ["size_fleet", "FleetResult"]

_TP_CHOICES = (1, 2, 4, 8)
_OBJECTIVES = ("devices", "cost", "carbon")


@dataclass
class FleetResult(Result):
    """The minimum fleet meeting an SLO; ``candidates`` holds each chip's best layout."""

    HEADLINE = ("devices", "replicas", "tp", "ttft", "time_per_output_token", "cost")

    feasible: bool
    devices: int | None
    replicas: int | None
    tp: int | None
    batch: int | None
    hardware: object
    ttft: object
    time_per_output_token: object
    utilization: float | None
    bottleneck: str
    cost: object = None
    carbon: object = None
    datacenter: object = None
    candidates: list = field(default_factory=list)
    message: str = ""
    memory_footprint: object = None   # per device, every KV slot at full context
    running_batch: float = None       # mean sequences per step of a replica (Little's law)
    model: object = None              # the model served

    def __repr__(self):
        if not self.feasible:
            return f"FleetResult(infeasible: {self.message})"
        return (f"FleetResult({self.devices} x {self.hardware.name} = {self.replicas} replicas x "
                f"TP{self.tp}, batch {self.batch}; p-TTFT {self.ttft:.4g~P}, TPOT "
                f"{self.time_per_output_token:.4g~P}; bottleneck {self.bottleneck})")

    @property
    def system(self):
        """The composed system the fleet was evaluated with (the serving system at a load)."""
        return load_kernel(latent_attention(self.model), sliding_window(self.model)).system

    def headline(self) -> str:
        """One line: the chosen fleet's size and latencies, or why no candidate meets the SLO."""
        if not self.feasible:
            return f"no fleet meets the SLO: {self.message}"
        return super().headline()

    def to_dict(self) -> dict:
        """JSON-ready dict: the chosen fleet, then each candidate chip's best layout or why it
        has none (quantities as ``{"value", "unit"}``)."""
        def name(obj):
            return getattr(obj, "name", obj)
        d = {"feasible": self.feasible, "hardware": name(self.hardware), "devices": self.devices,
             "replicas": self.replicas, "tp": self.tp, "batch": self.batch,
             "ttft": quantity_json(self.ttft),
             "time_per_output_token": quantity_json(self.time_per_output_token),
             "utilization": None if self.utilization is None else float(self.utilization),
             "bottleneck": self.bottleneck, "cost": quantity_json(self.cost),
             "carbon": quantity_json(self.carbon), "datacenter": name(self.datacenter),
             "message": self.message}
        rows = []
        for c in self.candidates:
            row = {"hardware": name(c["hardware"]), "feasible": c["feasible"]}
            if c["feasible"]:
                row.update({k: c[k] for k in ("devices", "replicas", "tp", "batch", "bottleneck")})
                row.update(cost=quantity_json(c.get("cost")), carbon=quantity_json(c.get("carbon")),
                           datacenter=name(c.get("datacenter")))
            else:
                row["reason"] = c["reason"]
            rows.append(row)
        d["candidates"] = rows
        return d


@dataclass(frozen=True)
class _Ask:
    """What every candidate chip must serve, and within which limits (checked values)."""

    model: object
    precision: str
    tp: tuple | None          # the degrees the user gave, else None (the defaults per chip)
    lam: float                # request/s
    n_in: float
    n_out: float
    efficiency: object
    percentile: float
    max_batch: int
    ttft_slo: float           # s
    tpot_slo: float           # s
    cloud_price: object
    regions: tuple
    budget: object            # USD or USD/h quantity, or None
    carbon_cap: object        # tCO2e/yr quantity, or None
    prefix_cache_hit_rate: float = 0.0
    speculative: object = None   # as serve's: {"draft", "tokens", "acceptance"} or None


def size_fleet(model, hardware_or_candidates, *, qps, input_tokens, output_tokens,
               slo=None, percentile=0.99, precision="fp16", budget=None, carbon_cap=None,
               datacenter=None, tp=None, max_batch=4096, efficiency=None,
               cloud_price=None, objective="devices", disaggregated=False,
               kv_transfer_bandwidth=None, prefix_cache_hit_rate=0.0, speculative=None):
    """The minimum number of devices that serves ``qps`` within the latency SLO.

    Parameters
    ----------
    model : str or Model
    hardware_or_candidates : str, Hardware, or a list of them
    qps, input_tokens, output_tokens : as in :func:`~mlsysim_sym.serve`
    slo : dict
        ``{"ttft": "500 ms", "tpot": "50 ms"}`` (TTFT at ``percentile``; TPOT per token).
    percentile : float
    precision : str
    budget : quantity, optional
        Upper bound on ``cost`` (purchase price, or cloud price per hour if given).
    carbon_cap : quantity, optional
        Upper bound on operational carbon per year [tCO2e/yr] (needs ``datacenter``).
    datacenter : str or list of str, optional
        Grid region(s); with several, the lowest-carbon region that meets the caps is chosen.
    tp : iterable of int, optional
        Tensor-parallel degrees to search (default 1, 2, 4, 8 within one node).
    objective : {"devices", "cost", "carbon"}
        What to minimise across candidate chips (devices is always minimised per chip).
    disaggregated : bool
        Size separate prefill and decode pools (DistServe, Splitwise): each the least replicas
        meeting its SLO (TTFT for prefill, TPOT for decode), both raised until the links carry
        the KV caches; returns a :class:`~.disaggregated.DisaggregatedResult`.
    kv_transfer_bandwidth : quantity, optional
        With ``disaggregated``: the link rate each device sends its KV share over (default: the
        chip's scale-out NIC from the registry).
    prefix_cache_hit_rate, speculative
        As in :func:`~mlsysim_sym.serve`: the cached share of each prompt, and speculative
        decoding inside the continuous-batching fixed point (the TPOT SLO applies to the time
        per output token, the step over the E tokens it yields). Co-located fleets only.
    """
    ask = _ask(model, qps=qps, input_tokens=input_tokens, output_tokens=output_tokens, slo=slo,
               percentile=percentile, precision=precision, budget=budget,
               carbon_cap=carbon_cap, datacenter=datacenter, tp=tp, max_batch=max_batch,
               efficiency=efficiency, cloud_price=cloud_price, objective=objective)
    ask = replace(ask, prefix_cache_hit_rate=prefix_cache_hit_rate, speculative=speculative)
    cands = hardware_or_candidates if isinstance(hardware_or_candidates, (list, tuple)) \
        else [hardware_or_candidates]
    if disaggregated or kv_transfer_bandwidth is not None:
        from .disaggregated import size_disaggregated
        if speculative is not None or prefix_cache_hit_rate != 0:
            raise ValueError("speculative decoding and prefix caching are modelled for "
                             "co-located serving; disaggregated=True does not take them")
        if not disaggregated:
            raise ValueError("kv_transfer_bandwidth applies to disaggregated=True only")
        return size_disaggregated(ask, cands, objective, kv_transfer_bandwidth)
    chips = [_candidate(ask, c) for c in cands]
    searched = [c for c in chips if "inputs" in c]
    layouts = least_replicas([(c.pop("inputs"), c["tps"]) for c in searched], ask.lam,
                             ask.ttft_slo, ask.tpot_slo)
    for chip, rows in zip(searched, layouts):
        chip.update(_best(ask, chip.pop("hardware"), chip.pop("tps"), rows))
    return _choose(chips, objective, ask.model)


def _ask(model, *, qps, input_tokens, output_tokens, slo, percentile, precision, budget,
         carbon_cap, datacenter, tp, max_batch, efficiency, cloud_price, objective) -> _Ask:
    """The checked request of ``size_fleet`` (every user value, before any chip is tried)."""
    if slo is not None and not isinstance(slo, dict):
        raise checks.InputError(f"slo must be a dict such as {{'ttft': '500 ms', 'tpot': '50 ms'}}, "
                                f"got {slo!r:.60}")
    slo = dict(slo or {"ttft": "500 ms", "tpot": "50 ms"})
    unknown = set(slo) - {"ttft", "tpot", "time_per_output_token"}
    if unknown:
        raise ValueError(f"unknown SLO keys {sorted(unknown)}; allowed: ttft, tpot")
    if objective not in _OBJECTIVES:
        raise ValueError(f"objective must be devices, cost or carbon, got {objective!r}")
    ttft_slo = to_base(positive("slo ttft", slo.get("ttft", "1e12 ms"), "ms"))
    tpot_slo = to_base(positive("slo tpot", slo.get("tpot", slo.get("time_per_output_token",
                                                                     "1e12 ms")), "ms"))
    vocabulary.precision(precision)
    percentile, lam, n_in, n_out = check_load(qps, input_tokens, output_tokens, percentile)
    m = registry.model(model)
    regions = tuple(datacenter) if isinstance(datacenter, (list, tuple)) else (datacenter,)
    if not regions:
        raise checks.InputError("datacenter is an empty list: give regions such as "
                                "['quebec', 'virginia'], or None")
    budget_q = None if budget is None else positive("budget", budget, "USD") \
        if not (isinstance(budget, str) and "/h" in budget) else positive("budget", budget, "USD/h")
    cap_q = None if carbon_cap is None else positive("carbon_cap", carbon_cap, "tCO2e/yr")
    max_batch = int(whole("max_batch", max_batch, 1e6))
    if tp is not None:
        tp = tuple(int(whole("tp", t, 1024)) for t in
                   (tp if isinstance(tp, (list, tuple, np.ndarray)) else [tp]))
        if not tp:
            raise checks.InputError("tp is empty: give tensor-parallel degrees such as [1, 2, 4, 8]")
    return _Ask(m, precision.lower(), tp, lam, n_in, n_out, efficiency, percentile, max_batch,
                ttft_slo, tpot_slo, cloud_price, regions, budget_q, cap_q)


def _valid_tps(m, hw):
    """The default degrees that divide the heads and fit the node's scale-up domain."""
    out = []
    for t in _TP_CHOICES:
        try:
            check_tp(t, m, hw)
        except checks.InputError:
            continue
        out.append(t)
    return tuple(out) or (1,)


def candidate_tps(ask, hw) -> tuple:
    """The tensor-parallel degrees searched on ``hw``: the user's (checked), else the default
    degrees that fit (1 for a chip without a scale-up link)."""
    if ask.tp is not None:
        return tuple(check_tp(np.asarray(ask.tp, dtype=float), ask.model, hw).astype(int))
    return _valid_tps(ask.model, hw) if hw.scale_up_bandwidth is not None else (1,)


def _candidate(ask: _Ask, cand) -> dict:
    """One chip, its TP degrees and the load kernel's inputs at one replica of each (the search
    runs over every chip at once), or ``{"feasible": False, "reason": ...}``."""
    hw = registry.hardware(cand)
    tps = candidate_tps(ask, hw)
    try:
        hw.peak_flops(ask.precision)
    except ValueError as exc:
        return {"hardware": hw, "feasible": False, "reason": str(exc)}
    tpa = np.asarray(tps, dtype=float)
    inputs = load_inputs(ask.model, hw, ask.precision, tp=tpa, replicas=np.ones_like(tpa),
                         lam=ask.lam, n_in=ask.n_in, n_out=ask.n_out, efficiency=ask.efficiency,
                         percentile=ask.percentile, max_sequences=float(ask.max_batch),
                         prefix_cache_hit_rate=ask.prefix_cache_hit_rate,
                         speculative=ask.speculative)
    return {"hardware": hw, "tps": tps, "inputs": inputs}


def _best(ask: _Ask, hw, tps, layouts) -> dict:
    """The chip's least-device layout of its degrees' rows, priced, or why it has none."""
    good = [row for row in layouts if row["feasible"]]
    if not good:
        why = "; ".join(f"tp={int(t_)}: {row['reason']}" for t_, row in zip(tps, layouts))
        return {"hardware": hw, "feasible": False, "reason": why}
    row = min(good, key=lambda r: (r["devices"], r["tp"]))
    row["hardware"] = hw
    return priced(ask, hw, row)


def priced(ask, hw, row: dict) -> dict:
    """``row`` with its cost and its cleanest region's carbon, or why the caps rule it out."""
    n_dev = row["devices"]
    row["cost"] = fleet_cost(hw, n_dev, ask.cloud_price)
    carbons = [(fleet_carbon(hw, n_dev, r), r) for r in ask.regions]
    if ask.carbon_cap is not None:
        carbons = [(c, r) for c, r in carbons if c is not None and c <= ask.carbon_cap]
    if not carbons:
        return {"hardware": hw, "feasible": False,
                "reason": f"carbon over the cap {ask.carbon_cap:~P} in every region"}
    row["carbon"], row["datacenter"] = min(carbons, key=lambda t: (t[0] is None, t[0] or 0))
    budget = ask.budget
    if budget is not None:
        if row["cost"] is None or row["cost"].dimensionality != budget.dimensionality:
            return {"hardware": hw, "feasible": False,
                    "reason": "no price to compare with the budget"}
        if row["cost"] > budget:
            return {"hardware": hw, "feasible": False,
                    "reason": f"cost {row['cost']:.4g~P} over budget {budget:.4g~P}"}
    return row


def _choose(results: list, objective: str, model) -> FleetResult:
    """The best feasible candidate by ``objective``, or an infeasible result with every reason."""
    good = [r for r in results if r["feasible"]]
    if not good:
        reasons = "; ".join(f"{r['hardware'].name}: {r['reason']}" for r in results)
        return FleetResult(False, None, None, None, None, None, None, None, None, "infeasible",
                           candidates=results, message=reasons, model=model)
    if objective == "devices":
        best = min(good, key=lambda r: r["devices"])
    else:   # cheapest (or cleanest) first; a candidate without the figure last
        best = min(good, key=lambda r: (r[objective] is None, r[objective].magnitude
                                        if r[objective] is not None else 0))
    q = lambda name, v: Q_(v / base_factor(info(name).unit), info(name).unit)  # noqa: E731
    return FleetResult(True, best["devices"], best["replicas"], best["tp"], best["batch"],
                       best["hardware"], q("ttft", best["ttft"]),
                       q("time_per_output_token", best["decode"]), best["rho"],
                       best["bottleneck"], best["cost"], best["carbon"], best["datacenter"],
                       candidates=results,
                       memory_footprint=q("engine_memory_footprint", best["memory_footprint"]),
                       running_batch=best["running_batch"], model=model)
