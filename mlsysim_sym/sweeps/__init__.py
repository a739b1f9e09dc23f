"""Design-space sweeps: a named cartesian grid, evaluated in chunks, with streamed reductions.

``ms.sweep("predict", model=[...], hardware=[...], batch=np.arange(1, 257), reduce=[...])``
loops the categorical axes (model, hardware, precision, ...) in Python and broadcasts the
numeric ones (batch, seq_len, tp, ...) into vectorised calls of at most ``chunk_size`` points,
so memory stays bounded whatever the grid's size. Reductions (:mod:`.reductions`, also
``ms.reduce``) are merged chunk by chunk; a small sweep also keeps its full table
(``to_frame()``, ``to_xarray()``; pandas and xarray are imported only then). ``backend="dask"``
runs the same chunks on a ``dask.distributed`` cluster. Nothing here imports dask, pandas or
xarray unless asked.
"""

from __future__ import annotations

import re
import time

import numpy as np

from .grid import Grid
from .reductions import Reduction, SweepError
from .run import Spec, _Progress, run_dask, run_local
from .tasks import BOTTLENECKS, DEFAULT_OUTPUTS, task as _task

__all__ = ["sweep", "SweepResult", "SweepError", "BOTTLENECKS", "TABLE_LIMIT", "MAX_CHUNK",
           "CHUNK"]

#: a sweep keeps its full table (to_frame / to_xarray) up to this many points with table="auto"
TABLE_LIMIT = 2 ** 20
#: largest chunk: one vectorised call never allocates more than this many points per array
MAX_CHUNK = 4_000_000
#: default chunk: 2^18 points, 2 MB per float array (a core's L2 here). Chunks of 2^17 to 2^20
#: points ran at the same 48-52 million points per CPU-second once the heap is kept
#: (:func:`.run.keep_heap`; benchmarks/bench_sweep.py --chunks); smaller ones pay the
#: per-chunk Python work, larger ones only hold more memory
CHUNK = 2 ** 18
_HARD_TABLE = 10 ** 7
_CONSTRAINT = re.compile(r"^\s*(<=|>=|<|>)\s*(.+?)\s*$")


def _axis_values(name, values, numeric_ok):
    """(values as a 1-D sequence, is_numeric) of an axis; SweepError on a bad one."""
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise SweepError(f"axis {name!r} must be one-dimensional, got shape {values.shape}")
        seq = values
    elif isinstance(values, (list, tuple, range)):
        seq = list(values)
    else:
        raise SweepError(f"axis {name!r} must be a list, tuple, range or 1-D array, got "
                         f"{type(values).__name__}")
    if len(seq) == 0:
        raise SweepError(f"axis {name!r} is empty: give it at least one value")
    numbers = all(isinstance(v, (int, float, np.integer, np.floating))
                  and not isinstance(v, (bool, np.bool_)) for v in seq)
    if numeric_ok and numbers:
        arr = np.asarray(seq)
        if not np.all(np.isfinite(arr)):
            raise SweepError(f"axis {name!r} holds a value that is not finite")
        return arr, True
    if numeric_ok and isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        raise SweepError(f"axis {name!r} must hold numbers (not booleans)")
    return (list(seq) if not isinstance(seq, np.ndarray) else seq.tolist()), False


def _is_axis(v) -> bool:
    return isinstance(v, (list, tuple, range, np.ndarray))


def _constraints(constraints, units):
    """[(output, op, threshold in the output's unit)] from a dict or a list of triples."""
    from ..units import as_quantity
    if constraints is None:
        return ()
    if isinstance(constraints, dict):
        items = []
        for name, spec in constraints.items():
            if isinstance(spec, str):
                m = _CONSTRAINT.match(spec)
                if not m:
                    raise SweepError(f"constraint on {name!r} must read like '<= 200 ms' "
                                     f"(one of <=, <, >=, > then a value), got {spec!r}")
                items.append((name, m.group(1), m.group(2)))
            elif isinstance(spec, tuple) and len(spec) == 2:
                items.append((name, *spec))
            else:
                raise SweepError(f"constraint on {name!r} must be a string like '<= 200 ms' or "
                                 f"a pair ('<=', value), got {spec!r}")
    elif isinstance(constraints, (list, tuple)):
        items = list(constraints)
        if not all(isinstance(c, tuple) and len(c) == 3 for c in items):
            raise SweepError("constraints must be a dict {output: '<= 200 ms'} or a list of "
                             "(output, op, value) triples")
    else:
        raise SweepError(f"constraints must be a dict {{output: '<= 200 ms'}}, got "
                         f"{type(constraints).__name__}")
    out = []
    for name, op, value in items:
        if op not in ("<=", "<", ">=", ">"):
            raise SweepError(f"constraint on {name!r}: unknown comparison {op!r}; allowed: "
                             "<=, <, >=, >")
        unit = units.get(name, "")
        if unit is None:
            raise SweepError(f"constraint on {name!r}: only numeric outputs can be constrained "
                             "(feasibility is always required unless only_feasible=False)")
        q = as_quantity(value, unit or "dimensionless", what=f"constraint on {name}")
        out.append((name, op, float(q.to(unit or "dimensionless").magnitude)))
    return tuple(out)


def _reductions(reduce_):
    if reduce_ is None:
        return {}
    if isinstance(reduce_, Reduction):
        reduce_ = [reduce_]
    if isinstance(reduce_, dict):
        items = list(reduce_.items())
    elif isinstance(reduce_, (list, tuple)):
        items = [(getattr(r, "label", repr(r)), r) for r in reduce_]
    else:
        raise SweepError("reduce must be a reduction (ms.reduce.pareto(...), ...), a list of "
                         f"them or a dict name -> reduction, got {type(reduce_).__name__}")
    out = {}
    for name, r in items:
        if not isinstance(r, Reduction):
            raise SweepError(f"unknown reduction {r!r}; use ms.reduce.count_feasible(), argmin, "
                             "argmax, pareto, quantiles or histogram")
        if name in out:
            raise SweepError(f"two reductions are named {name!r}; pass reduce as a dict to name "
                             "them")
        out[name] = r
    return out


class _Context:
    """What finalising a reduction needs: the grid, units and bottleneck names."""

    def __init__(self, grid, units):
        self.grid, self.units = grid, units

    def column(self, name):
        u = self.units.get(name)
        return f"{name} [{u}]" if u else name

    def decode(self, name, v):
        if name == "bottleneck":
            return BOTTLENECKS[int(v)]
        return v


class SweepResult:
    """A finished sweep: reductions by name, and the full table when it was small enough.

    ``result["pareto(time_per_output_token, -decode_throughput)"]`` (or ``result.reductions``)
    holds each reduction's answer; ``to_frame()`` / ``to_xarray()`` give the whole grid.
    """

    def __init__(self, task, grid, outputs, units, reductions, table, n_points, seconds,
                 n_chunks, backend):
        self.task, self.grid, self.outputs, self.units = task, grid, outputs, units
        self.reductions, self._table = reductions, table
        self.n_points, self.seconds, self.n_chunks = n_points, seconds, n_chunks
        self.backend = backend

    bottleneck_names = BOTTLENECKS

    @property
    def axes(self) -> dict:
        return dict(self.grid.axes)

    def __getitem__(self, name):
        try:
            return self.reductions[name]
        except KeyError:
            raise KeyError(f"no reduction named {name!r}; this sweep has: "
                           f"{', '.join(self.reductions) or 'none'}") from None

    def column(self, name) -> str:
        """Column name with its unit, e.g. ``"time_per_output_token [ms]"``."""
        return _Context(self.grid, self.units).column(name)

    @property
    def table(self) -> dict:
        """Output -> 1-D array over the grid in flat (C) order; ``admissible`` too."""
        if self._table is None:
            raise SweepError(f"this sweep of {self.n_points:,} points kept no table (it keeps "
                             f"one up to {TABLE_LIMIT:,} points, or with table=True up to "
                             f"{_HARD_TABLE:,}); ask for reductions instead")
        return self._table

    def bottleneck(self) -> np.ndarray:
        """Bottleneck names over the grid (an object array, shaped like the grid)."""
        codes = self.table["bottleneck"]
        return np.asarray(BOTTLENECKS, dtype=object)[codes].reshape(self.grid.sizes)

    def to_frame(self):
        """The full table as a pandas DataFrame: one row per point, one column per axis and
        per output (units in the names), ``bottleneck`` as a categorical (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise SweepError("to_frame() needs pandas: pip install "
                             "'mlsysim_sym[tables]'") from None
        table = self.table
        cols = self.grid.coords(np.arange(self.n_points))
        data = {n: cols[n] for n in self.grid.names}
        for name, v in table.items():
            if name == "bottleneck":
                data[name] = pd.Categorical.from_codes(v, categories=list(BOTTLENECKS))
            else:
                data[self.column(name)] = v
        return pd.DataFrame(data)

    def to_xarray(self):
        """The full table as an xarray Dataset over the grid's axes (needs xarray).

        Outputs carry their unit in ``attrs["units"]``; ``bottleneck`` holds integer codes with
        the CF ``flag_values`` / ``flag_meanings`` attributes naming them."""
        try:
            import xarray as xr
        except ImportError:
            raise SweepError("to_xarray() needs xarray: pip install "
                             "'mlsysim_sym[tables]'") from None
        dims, shape = self.grid.names, self.grid.sizes
        data = {}
        for name, v in self.table.items():
            attrs = {}
            if name == "bottleneck":
                attrs = {"flag_values": list(range(len(BOTTLENECKS))),
                         "flag_meanings": " ".join(BOTTLENECKS)}
            elif self.units.get(name):
                attrs = {"units": self.units[name]}
            data[name] = (dims, np.asarray(v).reshape(shape), attrs)
        coords = {n: np.asarray(self.grid.axes[n]) for n in dims}
        return xr.Dataset(data, coords=coords, attrs={"task": self.task})

    def __repr__(self):
        axes = ", ".join(f"{n}={len(v)}" for n, v in self.grid.axes.items())
        reds = ", ".join(self.reductions) or "no reductions"
        return (f"SweepResult({self.task}: {self.n_points:,} points [{axes}], "
                f"{self.n_chunks} chunks, {self.seconds:.3g} s on {self.backend}; {reds})")


def sweep(task, grid=None, *, outputs=None, constraints=None, reduce=None, only_feasible=True,
          table="auto", chunk_size=CHUNK, backend="local", scheduler=None, workers=None,
          progress=None, **axes) -> SweepResult:
    """Evaluate ``task`` over the cartesian product of named axes, in bounded chunks.

    Parameters
    ----------
    task : {"predict", "train"}
        The facade evaluated at every point.
    grid : dict, optional
        Axis name -> values; the same as passing the axes as keywords (which read better).
    **axes
        Any knob of the task. A list, tuple, range or 1-D array is an axis of the grid;
        anything else (a string, a number, a dict) is passed as it is to every call. Numeric
        knobs the task vectorises (predict: batch, seq_len, tp, efficiency; train: tp, pp, dp,
        micro_batch, global_batch, seq_len) are broadcast into one call per chunk; every
        other axis (model, hardware, precision, ...) is looped.
    outputs : sequence of str, optional
        Result attributes to read (default: the task's headline outputs). Outputs that a
        constraint or a reduction names are read as well.
    constraints : dict, optional
        ``{output: "<= 200 ms", ...}`` (or ``(op, value)`` pairs; a bare number is in the
        output's unit). A point is *admissible* when it is feasible (unless
        ``only_feasible=False``) and meets every constraint; reductions see only those.
    only_feasible : bool
        Count feasibility (fits in memory) as a constraint (default True).
    reduce : reduction, list or dict of reductions
        From ``ms.reduce``: ``count_feasible()``, ``argmin(out)``, ``argmax(out)``,
        ``pareto(x, y)`` ("-y" maximises), ``quantiles(out, q)``, ``histogram(out, bins,
        range)``. A list names them by their label, a dict by its keys.
    table : {"auto", True, False}
        Keep the full table (for ``to_frame`` / ``to_xarray``): "auto" up to 2^20 points.
    chunk_size : int
        Most points per vectorised call (default 2^18: a chunk's arrays stay in a core's
        cache; at most 4,000,000).
    backend : {"local", "dask"}
        Run here, or on a ``dask.distributed`` cluster (the ``[distributed]`` extra).
    scheduler : str, Client or Cluster, optional
        For ``backend="dask"``: a scheduler address (``"tcp://10.0.0.5:8786"``), a
        ``distributed.Client`` or a cluster object; default: a ``LocalCluster`` of
        ``workers`` processes (default 2) on 127.0.0.1, closed at the end.
    workers : int, optional
        Worker processes of that default ``LocalCluster``.
    progress : bool or callable, optional
        ``True`` draws a progress bar (tqdm) on stderr when stderr is a terminal, nothing
        otherwise; a callable gets ``(points_done, total)``.

    Returns
    -------
    SweepResult
    """
    t0 = time.perf_counter()
    spec_task = _task(task)
    if grid is not None and not isinstance(grid, dict):
        raise SweepError(f"grid must be a dict axis name -> values, got {type(grid).__name__}")
    merged = dict(grid or {})
    for k in axes:
        if k in merged:
            raise SweepError(f"axis {k!r} is given twice (in grid and as a keyword)")
    merged.update(axes)
    params = spec_task.parameters()
    for k in merged:
        if k not in params:
            raise SweepError(f"unknown axis {k!r} for sweep({task!r}); allowed: "
                             f"{', '.join(params)}")
    missing = [k for k, required in params.items() if required and k not in merged]
    if missing:
        raise SweepError(f"sweep({task!r}) needs {', '.join(missing)} (as an axis or a value)")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) \
            or not 1 <= chunk_size <= MAX_CHUNK:
        raise SweepError(f"chunk_size must be a whole number of points in [1, {MAX_CHUNK:,}], "
                         f"got {chunk_size!r}")
    if backend not in ("local", "dask"):
        raise SweepError(f"backend must be 'local' or 'dask', got {backend!r}")
    if table not in ("auto", True, False):
        raise SweepError(f"table must be 'auto', True or False, got {table!r}")

    axis_values, numeric, fixed = {}, [], {}
    for name, v in merged.items():
        if _is_axis(v):
            values, is_num = _axis_values(name, v, name in spec_task.vectorised)
            axis_values[name] = values
            if is_num:
                numeric.append(name)
        else:
            fixed[name] = v
    g = Grid(axis_values, tuple(numeric), int(chunk_size))

    reds = _reductions(reduce)
    outs = list(DEFAULT_OUTPUTS[task] if outputs is None else
                ([outputs] if isinstance(outputs, str) else outputs))
    if not all(isinstance(o, str) for o in outs):
        raise SweepError(f"outputs must be names of results such as 'ttft', got {outputs!r}")
    requested = tuple(dict.fromkeys(outs))
    needed = list(requested)
    cnames = list(constraints) if isinstance(constraints, dict) else \
        [c[0] for c in constraints or () if isinstance(c, tuple) and c]
    for r in reds.values():
        needed += list(r.needs)
    needed += cnames
    if only_feasible:
        needed.append("feasible")
    needed = tuple(dict.fromkeys(needed))

    units = _probe(spec_task, g, fixed, needed)
    cons = _constraints(constraints, units)
    for r in reds.values():
        for n in r.needs:
            if units[n] is None:
                raise SweepError(f"{r.label}: {n!r} is not a numeric output (reductions take "
                                 "numbers; count_feasible() counts the feasible points)")
        if hasattr(r, "bind"):
            r.bind(units[r.output])
    keep = (table is True and g.n_points <= _HARD_TABLE) or \
        (table == "auto" and g.n_points <= TABLE_LIMIT)
    if table is True and not keep:
        raise SweepError(f"table=True keeps at most {_HARD_TABLE:,} points; this sweep has "
                         f"{g.n_points:,}: use reductions")
    spec = Spec(task, g, fixed, needed, units, cons, tuple(reds.values()), bool(only_feasible),
                keep, row_outputs=requested)

    states = [None] * len(reds)
    tab = None
    if keep:
        tab = {n: np.empty(g.n_points, dtype=(np.int8 if n == "bottleneck" else
                                                 bool if units[n] is None else float))
               for n in needed}
        tab["admissible"] = np.empty(g.n_points, dtype=bool)

    def fold(out):
        for k, r in enumerate(spec.reductions):
            states[k] = r.merge(states[k], out["states"][k])
        if tab is not None and out["table"] is not None:
            gi, vals, ok = out["table"]
            for n, v in vals.items():
                tab[n][gi] = v
            tab["admissible"][gi] = ok

    prog = _Progress(progress, g.n_points)
    if backend == "local":
        run_local(spec, fold, prog)
    else:
        run_dask(spec, fold, prog, scheduler, workers)
    ctx = _Context(g, units)
    results = {name: r.finalize(s, ctx) for (name, r), s in zip(reds.items(), states)}
    if tab is not None:
        tab = {n: tab[n] for n in (*requested, "admissible")}
    return SweepResult(task, g, requested, {n: units[n] for n in needed}, results, tab,
                       g.n_points, time.perf_counter() - t0, g.n_blocks, backend)


def _probe(t, grid, fixed, outputs) -> dict:
    """Units of the outputs from one point, and early checks of every numeric axis."""
    first = {n: grid.axes[n][0] for n in grid.names}
    first = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in first.items()}
    try:
        res = t.call({**fixed, **first})
    except (ValueError, LookupError, TypeError) as e:
        raise SweepError(f"{t.name} at the grid's first point failed: {e}") from e
    units = {}
    for name in outputs:
        if name in ("feasible", "bottleneck"):
            units[name] = None
            continue
        try:
            q = t.get(res, name)
        except AttributeError:
            raise SweepError(f"unknown output {name!r} of {t.name}; numeric outputs: "
                             f"{', '.join(t.available(res))}, plus feasible and "
                             "bottleneck") from None
        if isinstance(q, (bool, np.bool_)):
            units[name] = None
        elif hasattr(q, "units"):
            units[name] = format(q.units, "~P")
        else:
            raise SweepError(f"output {name!r} of {t.name} is not a number")
    # the task's own checks of every value of every axis (lazy results: nothing is evaluated)
    for name in grid.names:
        values = grid.axes[name]
        if name in grid.numeric:
            values = np.asarray(values)
            trials = [values[i:i + MAX_CHUNK] for i in range(0, values.size, MAX_CHUNK)]
        else:
            trials = list({repr(v): v for v in values[1:]}.values())
        for v in trials:
            try:
                t.call({**fixed, **first, name: v})
            except (ValueError, LookupError, TypeError) as e:
                raise SweepError(f"axis {name!r}: {e}") from e
    return units
