"""Compiled forward evaluation: lambdify once per (system, outputs, inputs), evaluate many.

Magnitudes inside, units at the edges. Inputs are converted to the registry's coherent base
units once (:func:`mlsysim_sym.units.to_base`), the compiled kernel runs on floats or numpy
arrays (broadcasting: a million design points is one call), and outputs are wrapped back into
pint quantities only when asked for. The kernel also returns the value of every argument of each
named Max/Min branch, so a result can say which wall binds, point by point.

Two kernels are generated lazily from the same common-subexpression-eliminated expressions:
one on the ``math`` module (fastest for scalars) and one on numpy (for arrays). sympy's solve
and simplify never run here.

**The kernel cache.** :func:`cached_kernel` gives the task layer a kernel without sympy: the
Python source lambdify generates (the ``math`` kernel, the numpy kernel and one numpy kernel
per output, each stored when first generated), with the input and output names, the branch
table and each output's unit, is kept in the on-disk cache (:mod:`mlsysim_sym.cache`) under a hash of the equations, the
symbols, the units, this module and the module that builds the system. A later process
compiles the stored source into a namespace holding only the ``math`` / numpy / functools /
scipy.special names it uses and never imports sympy nor builds the walls; a missing, stale or
corrupt entry is rebuilt. sympy is imported here only to compile a system.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import linecache
import sys

import numpy as np

from . import cache
from .units import Q_, base_factor, parse_unit

__all__ = ["Kernel", "Compiled", "CachedKernel", "compile_system", "cached_kernel",
           "cached_function", "Evaluation", "constant_values", "KERNEL_SOURCES", "BLOCK"]

_CACHE: dict = {}


def constant_values(exprs) -> dict:
    import sympy
    from .symbols import info, is_constant
    consts = set()
    for e in exprs:
        consts |= {s for s in e.free_symbols if is_constant(s)}
    return {c: sympy.Float(info(c).value * base_factor(info(c).unit)) for c in consts}


class Evaluation:
    """Outputs of one compiled evaluation, as base-unit magnitudes with lazy pint wrapping.

    Scalar inputs are evaluated all at once by the ``math`` kernel (fastest for one point).
    Array inputs are evaluated lazily, one output at a time, by per-output numpy kernels, so a
    sweep pays only for the outputs that are read; :meth:`prefetch` evaluates several at once
    in one call of a kernel compiled for exactly those (their common subexpressions computed
    once).
    """

    __slots__ = ("compiled", "args", "_values", "_branches", "vectorised", "_result")

    def __init__(self, compiled, args, result=None):
        self.compiled = compiled
        self.args = args
        self._values: dict = {}
        self._branches: dict = {}
        self.vectorised = result is None
        self._result = result  # scalar path: every output and branch, in slot order

    @property
    def values(self) -> dict:
        """All outputs (computes the remaining ones when vectorised, one kernel each)."""
        return {name: self.value(name) for name in self.compiled.output_names}

    def prefetch(self, names=None, block=None) -> None:
        """Evaluate the outputs and branch arguments ``names`` (output names or the
        ``("branch", owner, label)`` keys of :meth:`branch_keys`; default: all of them) not
        computed yet, in one kernel call (arrays only: a scalar evaluation holds everything);
        ``block``: in slices of about that many points (see :meth:`Kernel.many`)."""
        if self._result is not None:
            return
        names = tuple(self.compiled._slot_of) if names is None else tuple(dict.fromkeys(names))
        if any(n not in self._values for n in names):
            # one kernel per call site's names (values read before are kept)
            for name, v in zip(names, self.compiled.many(names, self.args, block)):
                self._values.setdefault(name, v)

    def branch_keys(self, owner) -> tuple:
        """The :meth:`prefetch` keys of the terms of ``owner``'s Max/Min."""
        return tuple(("branch", o, label) for (o, label) in self.compiled._branch_slots
                     if o == owner)

    def value(self, name):
        """Base-unit magnitude of output ``name``."""
        if self._result is not None:
            return self._result[self.compiled._slot_of[name]]
        v = self._values.get(name)
        if v is None:
            v = self._values[name] = self.compiled.single(name, self.args)
        return v  # (branch argument keys share this cache with the outputs)

    @property
    def branch_values(self) -> dict:
        for owner in self.compiled.branch_kind:
            self._branch(owner)
        return self._branches

    def branches(self, owner) -> dict:
        """``{label: base magnitude}`` of the terms of ``owner``'s Max/Min (arrays in a sweep)."""
        return self._branch(owner)

    def _branch(self, owner):
        b = self._branches.get(owner)
        if b is None:
            slot_of, res = self.compiled._slot_of, self._result
            b = self._branches[owner] = {
                label: (res[slot_of[("branch", owner, label)]] if res is not None
                        else self.value(("branch", owner, label)))
                for (o, label) in self.compiled._branch_slots if o == owner}
        return b

    def quantity(self, name):
        """Output ``name`` as a pint quantity in the symbol's declared unit."""
        unit = self.compiled.unit_of(name)
        v, f = self.value(name), base_factor(unit)
        return Q_(v if f == 1.0 else v / f, parse_unit(unit))  # x / 1.0 is x: no copy

    def binding(self, owner: str):
        """Name of the binding branch of ``owner``'s Max/Min (array of names when vectorised)."""
        kind, labels_values = self.compiled.branch_kind[owner], self._branch(owner)
        labels = list(labels_values)
        vals = [labels_values[k] for k in labels]
        if all(np.ndim(v) == 0 for v in vals):
            pick = max if kind == "max" else min
            return pick(zip(vals, labels), key=lambda t: t[0])[1]
        stacked = np.stack(np.broadcast_arrays(*[np.asarray(v, dtype=float) for v in vals]))
        idx = np.argmax(stacked, axis=0) if kind == "max" else np.argmin(stacked, axis=0)
        return np.asarray(labels, dtype=object)[idx]


class Kernel:
    """What every compiled kernel offers (:class:`Compiled` from a system, :class:`CachedKernel`
    from the disk cache): :meth:`raw`, :meth:`lazy`, :meth:`evaluate` and :meth:`single`.

    Subclasses set ``output_names``, ``input_names``, ``branch_kind`` (``{owner: "max" |
    "min"}``), ``_branch_slots`` (``[(owner, label)]``) and call :meth:`_index`, and provide
    ``_kernel(vectorised)``, ``_single_fn(slot)`` and ``unit_of(name)``.
    """

    output_names: tuple
    input_names: tuple
    branch_kind: dict
    _branch_slots: list
    #: ``{slot: input indices}``: results of a kernel compiled with ``fixed`` inputs that no
    #: longer depend on those inputs (a folded term: 0); a vectorised evaluation broadcasts them
    #: to the shape the unspecialised kernel gives (:meth:`_widened`)
    _widen: dict = {}

    def _index(self):
        self._single: dict = {}
        self._many: dict = {}
        self._n_out = len(self.output_names)
        self._slot_of = {name: i for i, name in enumerate(self.output_names)}
        for j, (owner, label) in enumerate(self._branch_slots):
            self._slot_of[("branch", owner, label)] = self._n_out + j

    def _kernel(self, vectorised: bool):
        raise NotImplementedError

    def _single_fn(self, slot: int):
        raise NotImplementedError

    def unit_of(self, name) -> str:
        """The declared unit of output ``name``."""
        raise NotImplementedError

    def single(self, name, magnitudes):
        """One output (or branch argument) on numpy arrays, compiled on first use (and
        rewritten for which inputs are arrays, :class:`_ScalarsFirst`)."""
        arrays = _array_positions(magnitudes)
        fn = self._many.get((name, arrays))
        if fn is None:
            base = self._single.get(name)
            if base is None:
                base = self._single[name] = self._single_fn(self._slot_of[name])
            fn = _pruned(self._single_source(self._slot_of[name], base), None,
                         f"output {name!r}", arrays) or base
            self._many[(name, arrays)] = fn
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = fn(*magnitudes)
        if self._widen:
            out = self._widened([self._slot_of[name]], [out], magnitudes)[0]
        return out

    def _single_source(self, slot, fn):
        """The generated source (the :func:`_source` entry) of slot ``slot``'s per-output
        kernel ``fn``, or None."""
        return _source(fn, "numpy")

    def _widened(self, slots, results, magnitudes) -> list:
        """``results`` (of ``slots``) with those in :attr:`_widen` broadcast to the shape of the
        inputs they stand for, as float arrays (what the unspecialised kernel returns)."""
        results = list(results)
        for k, slot in enumerate(slots):
            lost = self._widen.get(slot)
            if lost:
                v = results[k]
                shape = np.broadcast_shapes(np.shape(v), *(np.shape(magnitudes[i]) for i in lost))
                if shape != np.shape(v):      # (a folded 0: zeros, no pass over memory)
                    results[k] = (np.zeros(shape) if np.ndim(v) == 0 and v == 0
                                  else np.full(shape, v, dtype=float))
        return results

    def many(self, names, magnitudes, block=None) -> list:
        """Several outputs (or branch arguments) on numpy arrays in one kernel call (``block``:
        arrays of more than twice that many points in slices of about that many, see
        :data:`BLOCK`).

        The kernel is the numpy kernel of every output (the common-subexpression program the
        ``math`` kernel of a scalar prediction runs too) with the steps ``names`` do not need
        left out (:func:`_pruned`, once per ``names`` and pattern of array inputs): the
        subexpressions the outputs share are computed once, and a product's scalar factors are
        multiplied before they meet an array (:class:`_ScalarsFirst`), so a point of a sweep
        agrees with the same point predicted alone to a few units in the last place (sums are
        never reordered), not bit for bit."""
        names = tuple(names)
        fn = self._numpy_fn(None if names == tuple(self._slot_of) else names, magnitudes)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = _blocked(fn, magnitudes, block) if block else fn(*magnitudes)
        if self._widen:
            out = self._widened([self._slot_of[n] for n in names], out, magnitudes)
        return out

    def _numpy_fn(self, names, magnitudes):
        """The numpy kernel of ``names`` (output names and branch keys; None: all of them) for
        ``magnitudes``: pruned to ``names`` (:func:`_pruned`) and rewritten for which inputs
        are arrays (:class:`_ScalarsFirst`), once per names and arrays; the whole kernel (and
        its slots) when it has no source to rewrite."""
        arrays = _array_positions(magnitudes)
        fn = self._many.get((names, arrays))
        if fn is None:
            full = self._kernel(True)
            slots = None if names is None else [self._slot_of[n] for n in names]
            fn = _pruned(self._numpy_source(), slots,
                         f"{len(slots or self._slot_of)} of {len(self._slot_of)} outputs",
                         arrays)
            if fn is None and slots is None:
                fn = full
            elif fn is None:   # no source to prune: the whole kernel, then the slots asked

                def fn(*args, _full=full, _slots=slots):
                    out = _full(*args)
                    return [out[i] for i in _slots]
            self._many[(names, arrays)] = fn
        return fn

    def _numpy_source(self):
        """The numpy kernel's generated source (the :func:`_source` entry), or None."""
        return None

    def raw(self, *magnitudes):
        """Evaluate with base-unit magnitudes in ``input_names`` order; returns a list."""
        vectorised = any(isinstance(m, np.ndarray) for m in magnitudes)
        if not vectorised:
            try:
                return self._kernel(False)(*magnitudes)
            except (ZeroDivisionError, OverflowError, ValueError):
                vectorised = True  # numpy gives inf/nan instead of raising
                magnitudes = [np.asarray(m, dtype=float) for m in magnitudes]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = self._numpy_fn(None, magnitudes)(*magnitudes)
        if self._widen:
            out = self._widened(range(len(out)), out, magnitudes)
        return out

    def to_base_inputs(self, values: dict) -> list:
        """Convert {input name: quantity | quantity string | number in declared unit} to magnitudes."""
        missing = [n for n in self.input_names if n not in values]
        if missing:
            raise ValueError(f"missing inputs: {', '.join(missing)}")
        unknown = set(values) - set(self.input_names)
        if unknown:
            raise ValueError(f"not inputs of these outputs: {', '.join(sorted(unknown))}; "
                             f"inputs are: {', '.join(self.input_names)}")
        from .checks import symbol_value, sweep_shape
        out = [symbol_value(n, values[n]) for n in self.input_names]
        if any(isinstance(v, np.ndarray) for v in out):
            sweep_shape(*zip(self.input_names, out), arrays=len(self.output_names) + len(out))
        return out

    def evaluate(self, **values) -> Evaluation:
        """Evaluate from keyword inputs (quantities, quantity strings, or numbers in declared units)."""
        return self.lazy(self.to_base_inputs(values))

    def lazy(self, magnitudes, vectorised=None) -> Evaluation:
        """An :class:`Evaluation` of base-unit magnitudes: eager for scalars, lazy for arrays.

        ``vectorised`` may be passed by callers that already know whether any input is an array.
        """
        if vectorised is None:
            vectorised = any(isinstance(m, np.ndarray) for m in magnitudes)
        if vectorised:
            return Evaluation(self, magnitudes)
        try:
            return Evaluation(self, magnitudes, self._kernel(False)(*magnitudes))
        except (ZeroDivisionError, OverflowError, ValueError):
            return Evaluation(self, magnitudes, self.raw(*magnitudes))

    def __repr__(self):
        return (f"{type(self).__name__}({', '.join(self.output_names)} <- "
                f"{len(self.input_names)} inputs)")


class Compiled(Kernel):
    """A system's outputs compiled for fast numeric evaluation.

    Call :meth:`raw` with base-unit magnitudes in ``input_names`` order for the fastest path,
    or :meth:`evaluate` with keyword quantities / numbers in each symbol's declared unit.
    """

    def __init__(self, system, outputs, inputs=None, fixed=None):
        """``fixed``: ``{input name: number}`` substituted before compiling (a specialised
        kernel: Max/Min of numbers fold, terms multiplied by zero vanish); the kernel still takes
        every input, in the same order, and gives the same numbers wherever the inputs hold
        those values."""
        import sympy
        from .symbols import is_constant
        self.system = system
        self.output_names = tuple(system.symbol(o).name for o in outputs)
        exprs = [system.expr(o, constants=False) for o in self.output_names]
        # branch arguments of every named Max/Min the outputs depend on
        self.branch_kind, self._branch_slots = {}, []
        for o in self.output_names:
            for eq, kind, branches in system.branch_points(o):
                if eq.name in self.branch_kind:
                    continue
                self.branch_kind[eq.name] = kind
                for arg_sym, label in branches.items():
                    self._branch_slots.append((eq.name, label))
                    exprs.append(system.expr(arg_sym, constants=False))
        free = set()
        for e in exprs:
            free |= {s for s in e.free_symbols if not is_constant(s)}
        if inputs is None:
            input_syms = tuple(sorted(free, key=lambda x: x.name))
        else:
            input_syms = tuple(system.symbol(i) for i in inputs)
            missing = free - set(input_syms)
            if missing:
                raise ValueError("the outputs also depend on inputs not listed: "
                                 + ", ".join(sorted(m.name for m in missing)))
        self.input_names = tuple(s.name for s in input_syms)
        self._input_syms = input_syms
        self._widen = {}
        if fixed:
            exprs = self._specialise(exprs, fixed)
        consts = constant_values(exprs)
        # rebuilding Max/Min nodes with evaluation on runs sympy's pairwise simplification of
        # every argument (minutes for the continuous-batching fixed point); the substitution of
        # numbers for constants needs none of it
        with sympy.core.parameters.evaluate(False):
            self._exprs = [e.xreplace(consts) for e in exprs]
        self._math = None
        self._numpy = None
        self._index()

    def _specialise(self, exprs, fixed) -> list:
        """``exprs`` with the ``fixed`` inputs' values substituted (evaluated, so that the
        Max/Min and products they decide fold); records in :attr:`_widen` the results that lose
        an input that way."""
        import sympy
        values = {self.system.symbol(n): (sympy.Integer(int(v)) if float(v).is_integer()
                                          else sympy.Float(v)) for n, v in fixed.items()}
        index = {s: i for i, s in enumerate(self._input_syms)}
        memo = dict(values)   # each shared subexpression rebuilt once (xreplace: once per use)

        def fold(e):
            r = memo.get(e)
            if r is None:
                args = [fold(a) for a in e.args]
                r = memo[e] = (e.func(*args) if any(a is not b for a, b in zip(args, e.args))
                               else e)
            return r

        out = []
        for slot, e in enumerate(exprs):
            new = fold(e)
            if new.is_Number:
                new = sympy.Float(new)     # a float, as the unspecialised kernel computes
            lost = (e.free_symbols - new.free_symbols) - set(values)
            if any(s in index for s in lost):
                self._widen[slot] = tuple(sorted(index[s] for s in lost if s in index))
            out.append(new)
        return out

    # lazily generated kernels ------------------------------------------------------------
    def _kernel(self, vectorised: bool):
        import sympy
        if vectorised:
            if self._numpy is None:
                self._numpy = sympy.lambdify(self._input_syms, self._exprs, modules="numpy", cse=True)
            return self._numpy
        if self._math is None:
            self._math = sympy.lambdify(self._input_syms, self._exprs, modules="math", cse=True)
        return self._math

    def _single_fn(self, slot):
        import sympy
        return sympy.lambdify(self._input_syms, self._exprs[slot], modules="numpy", cse=True)

    def _numpy_source(self):
        return _source(self._kernel(True), "numpy")

    def unit_of(self, name) -> str:
        from .symbols import info
        return info(name).unit

    def payload(self) -> dict:
        """What :class:`CachedKernel` needs, as JSON-able data: the names, the branch table and
        the units; the generated source of each kernel is added by :meth:`part_source` when it
        is first needed (a scalar prediction generates the ``math`` kernel only, a sweep the
        numpy ones)."""
        return {"outputs": list(self.output_names), "inputs": list(self.input_names),
                "branch_kind": dict(self.branch_kind),
                "branch_slots": [list(s) for s in self._branch_slots],
                "units": {n: self.unit_of(n) for n in self.output_names},
                "widen": {str(k): list(v) for k, v in self._widen.items()},
                "kernels": {"math": None, "numpy": None, "single": {}}}

    def part_function(self, part):
        """The ``math`` kernel (``part="math"``), the numpy kernel (``"numpy"``) or slot
        ``part``'s per-output numpy kernel."""
        if part == "math":
            return self._kernel(False)
        return self._kernel(True) if part == "numpy" else self._single_fn(part)

    def part_source(self, part):
        """The generated source of :meth:`part_function`, in the form
        :class:`CachedKernel` reads; None when the function uses a global name that is not
        ``math``'s, numpy's, scipy.special's or ``functools.reduce`` (it could not be rebuilt
        from its source alone)."""
        return _source(self.part_function(part), "math" if part == "math" else "numpy")


#: where a generated kernel's global names may come from when it is rebuilt from source
#: (lambdify takes the regularized gamma functions of the queueing wall from scipy.special)
_PROVIDERS = {"math": ("math", "functools", "builtins", "scipy.special"),
              "numpy": ("numpy", "functools", "builtins", "scipy.special")}


def _module(name):
    return importlib.import_module(name)


def _names(code) -> set:
    """Every name ``code`` (and the code nested in it) refers to: globals and attributes."""
    names = set(code.co_names)
    for c in code.co_consts:
        if inspect.iscode(c):
            names |= _names(c)
    return names


def _provider(obj, name, flavour):
    """(module, attribute) among the flavour's modules that holds ``obj``, or None."""
    mods = [m for m in _PROVIDERS[flavour] if m in sys.modules]   # lambdify imported the rest
    for mod in mods:
        if getattr(sys.modules[mod], name, None) is obj:
            return mod, name
    for mod in mods:
        for attr, value in vars(sys.modules[mod]).items():
            if value is obj and not attr.startswith("_"):
                return mod, attr
    return None


def _source(fn, flavour):
    """``{"source", "function", "globals": {name: [module, attribute]}}`` of a lambdified
    function, or None when one of its global names is not a ``math`` / numpy / functools /
    builtins / scipy.special object (the function could not be rebuilt from its source
    alone)."""
    # lambdify registers the file it generated (this one function) with linecache
    text = "".join(linecache.getlines(fn.__code__.co_filename))
    if not text.strip():
        return None
    where = {}
    for name in sorted(_names(fn.__code__)):
        if name not in fn.__globals__:
            continue       # a builtin (max, min, ...) or an attribute name
        found = _provider(fn.__globals__[name], name, flavour)
        if found is None:
            return None
        where[name] = list(found)
    return {"source": text, "function": fn.__name__, "globals": where}


def _rebuild(entry, flavour, what):
    """A function from a stored ``_source`` entry, compiled into a namespace of its globals."""
    if not isinstance(entry, dict) or not isinstance(entry.get("source"), str) \
            or not isinstance(entry.get("function"), str) \
            or not isinstance(entry.get("globals"), dict):
        raise ValueError(f"malformed kernel entry ({what})")
    ns = {"__builtins__": builtins}
    for name, (mod, attr) in entry["globals"].items():
        if mod not in _PROVIDERS[flavour] or not isinstance(attr, str) or attr.startswith("_"):
            raise ValueError(f"kernel global {name!r} from {mod!r} is not allowed ({what})")
        ns[name] = getattr(_module(mod), attr)
    # our own generated code, read back from our own cache directory (see mlsysim_sym.cache)
    exec(compile(entry["source"], f"<mlsysim_sym kernel: {what}>", "exec"), ns)  # noqa: S102
    fn = ns.get(entry["function"])
    if not callable(fn):
        raise ValueError(f"kernel entry defines no function {entry['function']!r} ({what})")
    return fn


def _array_positions(magnitudes) -> tuple:
    """The positions of the arrays (of at least one dimension) among ``magnitudes``."""
    return tuple(i for i, m in enumerate(magnitudes) if isinstance(m, np.ndarray) and m.ndim)


#: slices of ``Kernel.many(..., block=BLOCK)``: arrays of more than twice this many points are
#: evaluated in slices along their first axis of about this many, so that a slice's
#: temporaries (256 kB each) stay in a core's cache. What a sweep uses: on the 2-core
#: development machine a 4x10^7-point sweep in 2^18-point chunks took 0.68-0.71 s of CPU in
#: one process sliced, 0.70-0.76 s whole, and two processes sharing it 0.39-0.41 s of wall
#: sliced, 0.43-0.45 s whole (both cores streaming whole chunks through the shared cache).
#: One process reading a whole 10^6-point result is faster unsliced (no copies into the
#: outputs): the default.
BLOCK = 2 ** 15


def _blocked(fn, args, block):
    """``fn(*args)`` (elementwise, broadcasting) evaluated in slices of the broadcast shape's
    first axis of about ``block`` points each, the results assembled: the same values, with
    each slice's temporaries small enough for a core's cache."""
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    if not shape:
        return fn(*args)
    rows, n = shape[0], int(np.prod(shape))
    step = block // max(1, n // rows) if rows else 0
    if n <= 2 * block or step < 2 or step >= rows:
        return fn(*args)
    nd = len(shape)
    cut = [np.ndim(a) == nd and np.shape(a)[0] == rows for a in args]
    outs, first = None, None
    for start in range(0, rows, step):
        part = slice(start, start + step)
        res = fn(*[a[part] if c else a for a, c in zip(args, cut)])
        if outs is None:      # which results vary along the first axis (the first slice says)
            first = res
            outs = [np.empty((rows,) + np.shape(r)[1:], dtype=np.asarray(r).dtype)
                    if np.ndim(r) == nd and np.shape(r)[0] == step else None for r in res]
        for out, r in zip(outs, res):
            if out is not None:
                out[part] = r
    return [out if out is not None else r for out, r in zip(outs, first)]


def _pruned(entry, slots, what, arrays=None):
    """The numpy kernel of stored source ``entry`` returning only its results ``slots`` (in that
    order; None: all of them), with the assignments they do not depend on left out and, given
    ``arrays`` (the positions of the parameters that are arrays), rewritten for them by
    :class:`_ScalarsFirst`; None when ``entry`` is not a plain ``x0 = ...; return [...]``
    function (the caller then indexes the whole kernel)."""
    if entry is None:
        return None
    try:
        tree = ast.parse(entry["source"])
        fdef = next(n for n in tree.body if isinstance(n, ast.FunctionDef)
                    and n.name == entry["function"])
        *steps, ret = fdef.body
        if not isinstance(ret, ast.Return) or ret.value is None:
            return None
        alone = not isinstance(ret.value, (ast.List, ast.Tuple))   # one output's kernel
        if alone and slots is not None:
            return None
        want = [ret.value] if alone else list(ret.value.elts) if slots is None \
            else [ret.value.elts[i] for i in slots]
        params = [a.arg for a in fdef.args.args]
        varying = {params[i] for i in (arrays or ())}
    except (SyntaxError, KeyError, TypeError, IndexError, StopIteration):
        return None
    need = {n.id for e in want for n in ast.walk(e) if isinstance(n, ast.Name)}
    kept = []
    for step in reversed(steps):
        if isinstance(step, ast.Assign) and len(step.targets) == 1 \
                and isinstance(step.targets[0], ast.Name):
            if step.targets[0].id not in need:
                continue
            need |= {n.id for n in ast.walk(step.value) if isinstance(n, ast.Name)}
        else:
            return None   # not the straight-line code lambdify writes
        kept.append(step)
    kept.reverse()
    if arrays is not None:
        rewrite = _ScalarsFirst(varying)
        for step in kept:
            step.value = rewrite.visit(step.value)
            if rewrite.varies(step.value):
                varying.add(step.targets[0].id)
        want = [rewrite.visit(e) for e in want]
    fdef.body = kept + [ast.Return(want[0] if alone else ast.List(want, ast.Load()))]
    source = ast.unparse(ast.fix_missing_locations(tree))
    try:
        return _rebuild({**entry, "source": source}, "numpy", f"{what} (pruned)")
    except (ValueError, TypeError, SyntaxError, AttributeError):
        return None


class _ScalarsFirst(ast.NodeTransformer):
    """A numpy kernel's expressions rewritten for a sweep whose array-valued names are
    ``varying`` (the swept parameters and what is computed from them): in a product (a chain of
    ``*`` and ``/``) the scalar factors are multiplied together first, so that the arrays see
    one multiplication by their product instead of one per factor (``2.0*batch*head_dim*layers``
    is ``(2.0*head_dim*layers)*batch``: one pass over the array, not three); and
    ``reduce(maximum, [a, b, c])`` (how lambdify writes an n-ary Max / Min) becomes
    ``maximum(maximum(a, b), c)``, the same calls without ``functools.reduce`` and a list.

    A product is rewritten only where that saves passes over an array. The numbers are the
    same up to the rounding of a reordered product (a few units in the last place); sums are
    never reordered (their rounding can cancel)."""

    def __init__(self, varying):
        self._varying = varying

    def varies(self, node) -> bool:
        """Whether ``node`` reads an array-valued name."""
        return any(isinstance(n, ast.Name) and n.id in self._varying for n in ast.walk(node))

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "reduce" and len(node.args) == 2 \
                and not node.keywords and isinstance(node.args[0], ast.Name) \
                and isinstance(node.args[1], (ast.List, ast.Tuple)) \
                and len(node.args[1].elts) >= 2:
            fold, (acc, *rest) = node.args[0], node.args[1].elts
            for e in rest:
                acc = ast.Call(ast.Name(fold.id, ast.Load()), [acc, e], [])
            return acc
        return node

    def visit_BinOp(self, node):
        if not isinstance(node.op, (ast.Mult, ast.Div)):
            return self.generic_visit(node)
        factors = []        # (atom, divides), left to right

        def flatten(n):
            if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult):
                flatten(n.left)
                flatten(n.right)
            elif isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div):
                flatten(n.left)
                factors.append((self.visit(n.right), True))
            else:
                factors.append((self.visit(n), False))

        flatten(node)
        if not any(self.varies(a) for a, _ in factors):
            return _chain(factors)
        # 1.0 * x and x / 1.0 are x, bit for bit: no pass over an array for them
        factors = [f for i, f in enumerate(factors) if not _is_one(f[0])] or factors
        if factors[0][1]:
            factors.insert(0, (ast.Constant(1.0), False))
        array = [self.varies(a) for a, _ in factors]
        first = array.index(True)
        passes = len(factors) - max(first, 1)        # array operations as written
        scalars = [f for f, a in zip(factors, array) if not a]
        arrays = [f for f, a in zip(factors, array) if a]
        grouped = len(arrays) - 1 + bool(scalars)    # scalars first
        if grouped >= passes:
            return _chain(factors)
        if scalars and scalars[0][1]:                # 1/d first: d stays a divisor
            scalars = [(ast.Constant(1.0), False)] + scalars
        return _chain([(_chain(scalars), False)] + arrays)


def _is_one(node) -> bool:
    """Whether ``node`` is the literal 1.0 (a float: ``1.0 * x`` is ``x``, bit for bit; the
    integer 1 is left, ``1 * x`` could be an integer product)."""
    return isinstance(node, ast.Constant) and type(node.value) is float and node.value == 1.0


def _chain(factors):
    """``a * b / c ...`` of ``[(a, False), (b, False), (c, True), ...]`` (the first divides
    nothing), left to right."""
    (acc, _), *rest = factors
    for atom, divides in rest:
        acc = ast.BinOp(acc, ast.Div() if divides else ast.Mult(), atom)
    return acc


class CachedKernel(Kernel):
    """A kernel rebuilt from the disk cache's generated source: the same API and numbers as the
    :class:`Compiled` it was generated from, without sympy. Raises ValueError (or TypeError /
    SyntaxError) on a malformed payload; :func:`cached_kernel` then rebuilds it.

    Each kernel (``math`` for one point, numpy for arrays, the per-output numpy kernels of a
    lazy sweep) is compiled from its stored source when first used. A part the entry does not
    hold yet (an entry is written with the names only and gains the kernels as they are
    needed, so a cold prediction pays for no more than it did before the cache), or whose
    source does not compile, comes from ``fill(part)``, which compiles the system and stores
    the part; without ``fill`` it is a LookupError. ``system``, a callable returning
    the composed system, answers :attr:`system` (which imports sympy and builds the walls).
    """

    def __init__(self, payload, what="kernel", fill=None, system=None):
        if not isinstance(payload, dict):
            raise ValueError("a kernel payload must be a mapping")
        self.output_names = tuple(payload["outputs"])
        self.input_names = tuple(payload["inputs"])
        self.branch_kind = dict(payload["branch_kind"])
        self._branch_slots = [tuple(s) for s in payload["branch_slots"]]
        self._units = dict(payload["units"])
        names = self.output_names + self.input_names + tuple(self._units)
        if not all(isinstance(n, str) for n in names) \
                or set(self._units) != set(self.output_names) \
                or not all(isinstance(u, str) for u in self._units.values()) \
                or any(len(s) != 2 or s[0] not in self.branch_kind for s in self._branch_slots) \
                or any(k not in ("max", "min") for k in self.branch_kind.values()):
            raise ValueError("malformed kernel payload (names, units or branches)")
        self._kernels = payload["kernels"]
        if not isinstance(self._kernels, dict) or not isinstance(self._kernels.get("single"),
                                                                 dict):
            raise ValueError("malformed kernel payload (kernels)")
        widen = payload.get("widen", {})
        if not isinstance(widen, dict) or not all(
                isinstance(v, list) and all(isinstance(i, int) and 0 <= i < len(self.input_names)
                                            for i in v) for v in widen.values()):
            raise ValueError("malformed kernel payload (widen)")
        self._widen = {int(k): tuple(v) for k, v in widen.items()}
        self._math = self._numpy = None
        self._what, self._fill, self._system = what, fill, system
        self._index()

    @property
    def system(self):
        """The composed system the kernel was generated from (built on first access)."""
        if self._system is None:
            raise AttributeError(f"the cached kernel {self._what!r} does not know its system")
        return self._system()

    def _part(self, part):
        """The ``math`` or numpy kernel (``part``) or slot ``part``'s per-output kernel."""
        entry = (self._kernels.get(part) if part in ("math", "numpy")
                 else self._kernels["single"].get(str(part)))
        if entry is not None:
            try:
                return _rebuild(entry, "math" if part == "math" else "numpy",
                                f"{self._what}, {part}")
            except (ValueError, TypeError, SyntaxError, AttributeError):
                if self._fill is None:
                    raise
        if self._fill is None:
            raise LookupError(f"the cached kernel {self._what!r} holds no {part!r} kernel")
        return self._fill(part)

    def _kernel(self, vectorised: bool):
        if not vectorised:
            if self._math is None:
                self._math = self._part("math")
            return self._math
        if self._numpy is None:
            self._numpy = self._part("numpy")
        return self._numpy

    def _single_fn(self, slot):
        return self._part(slot)

    def _numpy_source(self):
        self._kernel(True)          # stored with the entry when first generated
        entry = self._kernels.get("numpy")
        return entry if isinstance(entry, dict) else None

    def _single_source(self, slot, fn):
        entry = self._kernels["single"].get(str(slot))
        return entry if isinstance(entry, dict) else None

    def unit_of(self, name) -> str:
        try:
            return self._units[name]
        except KeyError:
            from .symbols import info
            return info(name).unit


def compile_system(system, outputs, inputs=None, fixed=None) -> Compiled:
    """Compile (and cache) ``outputs`` of ``system`` (``fixed``: see :class:`Compiled`)."""
    if isinstance(outputs, str):
        outputs = (outputs,)
    fixed = dict(fixed or {})
    key = (system.key, tuple(str(o) for o in outputs), None if inputs is None else tuple(inputs),
           tuple(sorted(fixed.items())))
    hit = _CACHE.get(key)
    if hit is None:
        hit = _CACHE[key] = Compiled(system, outputs, inputs, fixed)
    return hit


#: the package files every cached kernel is derived from (besides the module building it)
KERNEL_SOURCES = ("equations/*.py", "symbols/*.py", "units.py", "units.txt", "system.py",
                  "numeric.py")
_KERNELS: dict = {}


def cached_kernel(name: str, outputs, inputs, build_system, *, depends=(), fixed=None) -> Kernel:
    """The kernel of ``outputs`` (from ``inputs``, or every input they need when None) of the
    system ``build_system()`` composes, from the disk cache when it holds it.

    ``name`` names the system (part of the entry's identity); ``build_system`` is called
    (importing sympy and the walls) only when the cache does not hold a valid entry, or holds
    it without a kernel now asked for (the scalar ``math`` kernel, the numpy one, a per-output
    one), which is then generated and added to it. The key hashes
    :data:`KERNEL_SOURCES`, the file defining ``build_system`` and ``depends`` (more paths), so
    editing an equation, a symbol or the composition rebuilds the kernel. With the disk cache
    off (``MLSYSIM_CACHE_DIR=""``, or no home directory) this is
    ``compile_system(build_system(), outputs, inputs, fixed)``. ``fixed`` (``{input name:
    number}``): a kernel specialised to those values (:class:`Compiled`), part of the entry's
    identity, so it never stands for the general kernel.
    """
    outputs = (outputs,) if isinstance(outputs, str) else tuple(outputs)
    inputs = None if inputs is None else tuple(inputs)
    fixed = tuple(sorted((fixed or {}).items()))
    ident = (name, outputs, inputs) + ((("fixed",) + fixed,) if fixed else ())
    hit = _KERNELS.get(ident)
    if hit is not None:
        return hit
    if cache.directory() is None:
        hit = _KERNELS[ident] = compile_system(build_system(), outputs, inputs, dict(fixed))
        return hit
    identity = repr(ident)
    fn = inspect.unwrap(build_system)
    files = tuple(depends) + ((fn.__code__.co_filename,) if hasattr(fn, "__code__") else ())
    key = cache.fingerprint(identity, KERNEL_SOURCES, files)
    entry = _Entry(identity, key, lambda: compile_system(build_system(), outputs, inputs,
                                                         dict(fixed)))
    payload = cache.read("kernels", identity, key)
    if payload is not None:
        try:
            hit = CachedKernel(payload, name, fill=entry.fill, system=build_system)
            entry.payload = payload
        except Exception:  # noqa: BLE001  a corrupt entry is rebuilt, never fatal
            hit = None
    if hit is None:
        entry.payload = payload = entry.compiled().payload()
        hit = CachedKernel(payload, name, fill=entry.fill, system=build_system)
        # written when its first kernel is generated (Entry.fill)
    _KERNELS[ident] = hit
    return hit


class _Entry:
    """One cache entry being completed: compiles the system on first need and adds the numpy
    kernels a sweep asks for to the stored payload."""

    def __init__(self, identity, key, compile_):
        self.identity, self.key, self._compile = identity, key, compile_
        self._compiled = None
        self.payload = None

    def compiled(self) -> Compiled:
        if self._compiled is None:
            self._compiled = self._compile()
        return self._compiled

    def fill(self, part):
        """The function of ``part`` ("math", "numpy" or a slot), from the system; stored when
        its source can be rebuilt (the stored source is then what this and later processes
        run)."""
        c = self.compiled()
        src = c.part_source(part)
        if src is None or self.payload is None:
            return c.part_function(part)
        kernels = self.payload["kernels"]
        if part in ("math", "numpy"):
            kernels[part] = src
        else:
            kernels["single"][str(part)] = src
        cache.write("kernels", self.identity, self.key, self.payload)
        return _rebuild(src, "math" if part == "math" else "numpy", f"{self.identity}, {part}")


_FUNCTIONS: dict = {}


def cached_function(name: str, flavour: str, build, *, depends=()):
    """``(function, meta)`` of ``build()`` (a function lambdify generated for the ``"math"`` or
    ``"numpy"`` module, and JSON-able data the caller needs with it, such as the names of its
    outputs), from the disk cache when it holds them: the same key and validation as
    :func:`cached_kernel`, for a function that is not one system's outputs (the ZeRO glue of
    one stage, lambdified without cse). ``build`` runs (importing sympy) only on a miss."""
    if flavour not in _PROVIDERS:
        raise ValueError(f"flavour must be 'math' or 'numpy', got {flavour!r}")
    ident = ("function", name, flavour)
    hit = _FUNCTIONS.get(ident)
    if hit is not None:
        return hit
    if cache.directory() is None:
        hit = _FUNCTIONS[ident] = build()
        return hit
    identity = repr(ident)
    fn = inspect.unwrap(build)
    files = tuple(depends) + ((fn.__code__.co_filename,) if hasattr(fn, "__code__") else ())
    key = cache.fingerprint(identity, KERNEL_SOURCES, files)
    payload = cache.read("kernels", identity, key)
    if isinstance(payload, dict) and "source" in payload:
        try:
            hit = (_rebuild(payload["source"], flavour, name), payload.get("meta"))
        except (ValueError, TypeError, SyntaxError, AttributeError, KeyError):
            hit = None       # a corrupt entry is rebuilt, never fatal
    if hit is None:
        function, meta = build()
        src = _source(function, flavour)
        if src is None:
            hit = (function, meta)
        else:
            hit = (_rebuild(src, flavour, name), meta)
            cache.write("kernels", identity, key, {"source": src, "meta": meta})
    _FUNCTIONS[ident] = hit
    return hit
