"""The composer: walls -> one System (the Iron Law), with well-posedness checks.

A :class:`System` is the union of its walls' definitional equations: one definition per symbol,
no cycles, every equation dimensionally checked when the system is built (the error names the
equation, the offending term and both units). Symbols that nothing defines are the ``inputs``;
defined ones are ``outputs``; constants are neither (they are substituted when compiling).
``expr(name)`` expands an output to a closed form in the inputs by topological substitution
(``xreplace``: no simplify, no solve, no string parsing).
"""

from __future__ import annotations

import difflib
from functools import cached_property

import sympy

from .equations.base import (Constraint, DimensionError, Equation, Wall, check_constraint,
                             check_equation)
from .symbols import info, is_constant

__all__ = ["System", "CompositionError"]


class _HybridMethod:
    """A method callable on the class (``System.iron_law()``) or on an instance."""

    def __init__(self, func):
        self.func = func
        self.__doc__ = func.__doc__

    def __get__(self, obj, owner):
        return lambda *args, **kwargs: self.func(obj, *args, **kwargs)


class CompositionError(ValueError):
    """Walls that cannot be composed: a symbol defined twice, or a cycle."""


class System:
    """A set of equations composed into one DAG.

    Parameters
    ----------
    equations : iterable of Equation
    constraints : iterable of Constraint
    walls : iterable of Wall, optional
        The walls the equations came from (for LaTeX, citations and reports).
    name : str
    """

    def __init__(self, equations, constraints=(), walls=(), name="system"):
        self.name = name
        self.walls = tuple(walls)
        self.constraints = tuple(constraints)
        defs: dict[sympy.Symbol, Equation] = {}
        owner = {}
        for eq in equations:
            if not isinstance(eq, Equation):
                raise TypeError(f"{eq!r} is not an Equation")
            if eq.lhs in defs:
                prev = defs[eq.lhs]
                if prev.rhs == eq.rhs:
                    continue
                raise CompositionError(
                    f"{eq.name} is defined twice: {prev.name} := {prev.rhs} ({owner[eq.lhs]}) and "
                    f"{eq.name} := {eq.rhs}; a system needs one definition per symbol")
            if is_constant(eq.lhs):
                raise CompositionError(f"{eq.name} is a constant and cannot be defined by an equation")
            defs[eq.lhs] = eq
            owner[eq.lhs] = eq.cite
        self.definitions = defs
        self.order = self._topological_order()
        for eq in self.order:
            check_equation(eq)
        for c in self.constraints:
            check_constraint(c)
        self._expanded: dict[sympy.Symbol, sympy.Expr] = {}

    @classmethod
    def from_walls(cls, *walls: Wall, name: str | None = None) -> "System":
        """Compose walls (Wall records, or an iterable of them) into one system."""
        flat = []
        for w in walls:
            flat.extend(w if not isinstance(w, Wall) else [w])
        eqs = [eq for w in flat for eq in w.equations]
        cons = [c for w in flat for c in w.constraints]
        return cls(eqs, cons, flat, name=name or " + ".join(w.name for w in flat))

    # ---------------------------------------------------------------------------- structure
    def _topological_order(self):
        order, state = [], {}

        def visit(sym, path):
            st = state.get(sym)
            if st == 2:
                return
            if st == 1:
                cycle = " -> ".join(p.name for p in path[path.index(sym):] + [sym])
                raise CompositionError(f"the equations form a cycle: {cycle}")
            state[sym] = 1
            for dep in sorted(self.definitions[sym].rhs.free_symbols, key=lambda x: x.name):
                if dep in self.definitions:
                    visit(dep, path + [sym])
            state[sym] = 2
            order.append(self.definitions[sym])

        for sym in sorted(self.definitions, key=lambda x: x.name):
            visit(sym, [])
        return order

    @cached_property
    def key(self) -> tuple:
        """Hashable identity for compile caches."""
        return tuple((eq.lhs.name, sympy.srepr(eq.rhs)) for eq in self.order)

    @cached_property
    def inputs(self) -> tuple:
        """The free symbols, already sorted by name. (sympy symbols do not order among
        themselves: ``x < y`` is an inequality, so ``sorted(S.inputs)`` cannot work; sort with
        ``key=str`` or use :attr:`input_names`.)"""
        free = set()
        for eq in self.order:
            free |= eq.rhs.free_symbols
        for c in self.constraints:
            free |= c.lhs.free_symbols | c.rhs.free_symbols
        return tuple(sorted((s for s in free if s not in self.definitions and not is_constant(s)),
                            key=lambda x: x.name))

    @property
    def input_names(self) -> list:
        """The inputs' names, sorted (a list of str: sortable, searchable, printable)."""
        return [sym.name for sym in self.inputs]

    @cached_property
    def outputs(self) -> tuple:
        return tuple(eq.lhs for eq in self.order)

    @cached_property
    def constants(self) -> tuple:
        free = set()
        for eq in self.order:
            free |= eq.rhs.free_symbols
        return tuple(sorted((s for s in free if is_constant(s)), key=lambda x: x.name))

    @cached_property
    def symbol_table(self) -> dict:
        """``{name: symbol}`` of the system's outputs and inputs (read only)."""
        table = {}
        for s in self.outputs + self.inputs:
            table.setdefault(s.name, s)
        return table

    def symbol(self, name) -> sympy.Symbol:
        """The symbol called ``name`` in this system (error lists close matches)."""
        if isinstance(name, sympy.Symbol):
            name = name.name
        hit = self.symbol_table.get(name) if isinstance(name, str) else None
        if hit is not None:
            return hit
        names = [s.name for s in self.outputs + self.inputs]
        close = difflib.get_close_matches(str(name), names, n=5)
        raise KeyError(f"{name!r} is not a symbol of system {self.name!r}."
                       + (f" Did you mean: {', '.join(close)}?" if close else ""))

    def is_output(self, name) -> bool:
        return self.symbol(name) in self.definitions

    # ---------------------------------------------------------------------------- algebra
    def _expand(self, sym):
        if sym in self._expanded:
            return self._expanded[sym]
        eq = self.definitions.get(sym)
        if eq is None:
            return sym
        rhs = eq.rhs
        sub = {d: self._expand(d) for d in rhs.free_symbols if d in self.definitions}
        if sub and rhs.has(sympy.Max, sympy.Min):
            # substituting into Max/Min with evaluation on runs sympy's pairwise comparison of
            # every argument (minutes for nested fixed points); the value is the same
            with sympy.core.parameters.evaluate(False):
                out = rhs.xreplace(sub)
        else:
            out = rhs.xreplace(sub) if sub else rhs
        self._expanded[sym] = out
        return out

    def expr(self, name, *, constants: bool = True) -> sympy.Expr:
        """Closed form of ``name`` in the system's inputs.

        With ``constants=True`` (default) the unit-carrying numerals are replaced by their values,
        which is what a reader expects to see (``2 N B``); with ``False`` they stay symbols, which
        keeps the expression dimensionally checkable.
        """
        out = self._expand(self.symbol(name))
        if constants:
            out = substitute_constants(out)
        return out

    def dependencies(self, name) -> tuple:
        """The inputs an output depends on."""
        return tuple(sorted((s for s in self.expr(name, constants=False).free_symbols
                             if not is_constant(s)), key=lambda x: x.name))

    def branch_points(self, name) -> list:
        """Equations with named Max/Min branches that ``name`` depends on, nearest first.

        Returns a list of ``(equation, kind, {argument symbol: wall name})``, kind ``"max"`` or
        ``"min"``.
        """
        target = self.symbol(name)
        out, seen, frontier = [], set(), [target]
        while frontier:
            sym = frontier.pop(0)
            if sym in seen or sym not in self.definitions:
                continue
            seen.add(sym)
            eq = self.definitions[sym]
            if eq.branches:
                kind = "min" if eq.rhs.has(sympy.Min) and not eq.rhs.has(sympy.Max) else "max"
                out.append((eq, kind, dict(eq.branches)))
            frontier.extend(sorted((d for d in eq.rhs.free_symbols if d in self.definitions),
                                   key=lambda x: x.name))
        return out

    # ---------------------------------------------------------------------------- domain
    @cached_property
    def domain(self) -> tuple:
        """The constraints the inputs themselves must satisfy (``kind="domain"``), such as the
        MoE record's k <= E: outside them an equation has no physical meaning (and may have no
        real value)."""
        return tuple(c for c in self.constraints if c.kind == "domain")

    def check_domain(self, values: dict) -> None:
        """Refuse base-unit input ``values`` that break a domain constraint, naming it, the
        values and what is allowed (constraints with an input not in ``values`` are skipped)."""
        for c in self.domain:
            syms = c.lhs.free_symbols | c.rhs.free_symbols
            if not all(s.name in values for s in syms):
                continue
            sub = {s: values[s.name] for s in syms}
            lhs, rhs = float(c.lhs.subs(sub)), float(c.rhs.subs(sub))
            if lhs > rhs * (1 + 1e-12):
                shown = ", ".join(f"{s.name} = {values[s.name]:g}"
                                  for s in sorted(syms, key=lambda x: x.name))
                raise ValueError(f"{shown} breaks {c.name}: {c.lhs} <= {c.rhs} is required "
                                 f"({c.locator or c.cite})")

    def domain_bounds(self, name: str, values: dict, lo: float, hi: float) -> tuple:
        """``(lo, hi)`` of input ``name`` (base units) narrowed by the domain constraints of the
        form ``name <= other`` / ``other <= name`` whose other side ``values`` gives."""
        for c in self.domain:
            for mine, other, upper in ((c.lhs, c.rhs, True), (c.rhs, c.lhs, False)):
                if getattr(mine, "name", None) != name:
                    continue
                if not all(s.name in values for s in other.free_symbols):
                    continue
                v = float(other.subs({s: values[s.name] for s in other.free_symbols}))
                lo, hi = (lo, min(hi, v)) if upper else (max(lo, v), hi)
        return lo, hi

    # ---------------------------------------------------------------------------- numerics
    def compile(self, outputs, inputs=None):
        """Compile outputs into a vectorised numeric function (cached); see :mod:`numeric`."""
        from .numeric import compile_system
        return compile_system(self, outputs, inputs)

    def evaluate(self, outputs, inputs=None, /, **kwargs) -> dict:
        """Evaluate ``outputs`` (a name or a list) from the inputs they depend on.

        Inputs are given as keyword arguments, as a dict (``S.evaluate("ttft", {"batch": 1,
        ...})``) or as a forward result of ``predict``/``train``/``serve`` (its inputs; keyword
        arguments override them). Values are pint quantities, quantity strings ("3.35 TB/s") or
        numbers in each symbol's declared unit (``ms.symbols.info(name).unit``); arrays
        broadcast. Inputs the outputs do not depend on are ignored when they are declared
        symbols (this system's or another wall's; a ``"notes"`` entry names them); a name that
        is no symbol at all is an error. Returns ``{name: quantity}`` plus, for every named
        Max/Min the outputs depend on, ``{"binding": {equation name: wall name}}``.
        """
        from .checks import InputError
        if isinstance(outputs, str):
            names = (outputs,)
        elif isinstance(outputs, (list, tuple)) and outputs \
                and all(isinstance(o, str) for o in outputs):
            names = tuple(outputs)
        else:
            raise InputError(f"outputs must be an output name or a list of them, got "
                             f"{outputs!r:.60}")
        for n in names:
            if not self.is_output(n):
                raise InputError(f"{n!r} is an input of system {self.name!r}, not an output")
        base = {}
        if inputs is not None:
            if isinstance(inputs, dict):
                base = dict(inputs)
            elif callable(getattr(inputs, "base_inputs", None)):
                from .units import from_base
                from .symbols import info
                base = {n: from_base(v, info(n).unit) for n, v in inputs.base_inputs().items()
                        if n in {s.name for s in self.inputs}}
            else:
                raise InputError(f"inputs must be a dict {{input name: value}} or a result of "
                                 f"predict/train/serve, got {inputs!r:.60}")
        base.update(kwargs)
        k = self.compile(names)
        from .symbols import info

        def declared(n):
            try:
                return isinstance(n, str) and info(n) is not None
            except KeyError:
                return False
        own = {s.name for s in self.inputs}
        unknown = [n for n in base if n not in k.input_names and n not in own
                   and not declared(n)]
        if unknown:
            raise InputError(f"not symbols: {', '.join(map(str, unknown))}; "
                             f"{', '.join(names)} need(s): {', '.join(k.input_names)}")
        unused = sorted(n for n in base if n not in k.input_names and n not in own)
        ev = k.evaluate(**{n: base[n] for n in k.input_names if n in base})
        out = {n: ev.quantity(n) for n in names}
        if unused:
            out["notes"] = [f"ignored (not used by {', '.join(names)} in system "
                            f"{self.name!r}): {', '.join(unused)}"]
        if k.branch_kind:
            out["binding"] = {owner: ev.binding(owner) for owner in k.branch_kind}
        return out

    @_HybridMethod
    def iron_law(self=None):
        """The Iron Law of training, ``T = C / (N R_peak eta_MFU eta_scaling G)``, with each factor
        expanded from its walls: of this system, or (called on the class) of the full training
        system. Returns an :class:`~mlsysim_sym.analysis.iron_law.IronLaw` (``.equation``, ``.latex``,
        ``.factors``)."""
        from .analysis.iron_law import iron_law
        return iron_law(self)

    # ---------------------------------------------------------------------------- printing
    def latex(self) -> str:
        from .report import system_latex
        return system_latex(self)

    def _repr_latex_(self) -> str:
        from .report import notebook_latex
        return notebook_latex(self)

    def references(self) -> tuple:
        keys = {eq.cite for eq in self.order} | {c.cite for c in self.constraints}
        for w in self.walls:
            keys |= set(w.references)
        return tuple(sorted(keys))

    def __repr__(self):
        return (f"System({self.name!r}: {len(self.order)} equations, {len(self.inputs)} inputs, "
                f"{len(self.constraints)} constraints)")


def substitute_constants(expr):
    """Replace constant symbols by their numeric values (in their declared units)."""
    consts = {s: sympy.nsimplify(info(s).value) for s in expr.free_symbols if is_constant(s)}
    return expr.xreplace(consts) if consts else expr
