"""The import graph keeps the layers of docs/architecture.md (walked with ast, nothing imported).

- no import cycle among module-level imports (what Python executes at import time);
- no arrow the map forbids, lazy (function-level) imports included: a layer imports only from
  the layers below it;
- no private name (``_x``) of one module used by another, except the ones listed below, which
  are recorded debt of the task layer (issue 14 moves them behind a shared core): the list may
  only shrink; a new cross-module private name fails.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "mlsysim_sym"


def _modules() -> dict:
    out = {}
    for p in PKG.rglob("*.py"):
        parts = p.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


MODULES = _modules()


def _target(current: str, node: ast.ImportFrom, is_package: bool):
    if node.level == 0:
        return node.module
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports():
    """(importer, imported module, name or None, lazy) for every import of the package."""
    rows = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        top = set(map(id, tree.body))
        for node in ast.walk(tree):
            lazy = id(node) not in top
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("mlsysim_sym"):
                        rows.append((name, a.name, None, lazy))
            elif isinstance(node, ast.ImportFrom):
                tgt = _target(name, node, path.name == "__init__.py")
                if not tgt or not tgt.startswith("mlsysim_sym"):
                    continue
                for a in node.names:
                    sub = f"{tgt}.{a.name}"
                    if sub in MODULES:
                        rows.append((name, sub, None, lazy))
                    else:
                        rows.append((name, tgt, a.name, lazy))
    return rows


IMPORTS = _imports()


def _layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


#: what each lower layer may import (itself included); everything not listed is above them all
ALLOWED = {
    "vocabulary": {"vocabulary"},
    "units": {"units"},
    # the on-disk cache of generated kernels and of the symbol table (standard library only)
    "cache": {"cache"},
    "symbols": {"symbols", "units", "cache"},
    "report": {"report", "symbols", "units", "equations"},
    "equations": {"equations", "symbols", "units", "report", "vocabulary"},
    # input checks (quantity / number / array in the declared unit, range, sweep size)
    "checks": {"checks", "symbols", "units"},
    "system": {"system", "equations", "symbols", "units", "report", "checks"},
    "numeric": {"numeric", "system", "equations", "symbols", "units", "checks", "cache"},
    "solvers": {"solvers", "numeric", "system", "equations", "symbols", "units", "report",
                "checks"},
    # defaults.yaml as parsed is kept in the on-disk cache (defaults/schema.py)
    "defaults": {"defaults", "symbols", "units", "vocabulary", "cache"},
    # the registry's validated data is kept in the on-disk cache (registry/store.py)
    "registry": {"registry", "units", "vocabulary", "cache"},
    "feasibility": {"feasibility"},
    "progress": {"progress"},
    # analyses over a system or a result (Iron Law, explain, cite, uncertainty bands): they
    # read results through their public methods and import nothing of the task layer
    "analysis": {"analysis", "system", "numeric", "equations", "symbols", "units", "report",
                 "defaults", "registry", "checks"},
}

#: lazy upward imports the map allows, each with why
ALLOWED_LAZY = {
    # System.iron_law() is a convenience method; the Iron Law is an analysis over a system
    # (mlsysim_sym.analysis.iron_law imports System at module level, so this arrow stays lazy)
    ("mlsysim_sym.system", "mlsysim_sym.analysis.iron_law"),
    # printing: Equation.latex() / Wall.latex() render with report, which prints equations
    ("mlsysim_sym.equations.base", "mlsysim_sym.report"),
    # System.compile() is the public way to a compiled kernel; numeric compiles systems
    ("mlsysim_sym.system", "mlsysim_sym.numeric"),
}
#: optional extras any object may delegate to from a method, lazily (``x.plot()``,
#: ``_repr_html_``): they sit on top, import matplotlib/pandas only when called, and never at
#: import time
LAZY_ANYWHERE = {"mlsysim_sym.display", "mlsysim_sym.plot"}


def test_no_cycle_among_module_level_imports():
    graph = defaultdict(set)
    for a, b, _, lazy in IMPORTS:
        if not lazy and a != b:
            graph[a].add(b)
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in list(MODULES):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_no_forbidden_arrow():
    bad = []
    for a, b, _, lazy in IMPORTS:
        la, lb = _layer_of(a), _layer_of(b)
        if lazy and ((a, b) in ALLOWED_LAZY or b in LAZY_ANYWHERE):
            continue
        if la in ALLOWED and lb not in ALLOWED[la]:
            bad.append(f"{a} -> {b}{' (lazy)' if lazy else ''}")
    assert not bad, "arrows docs/architecture.md forbids:\n" + "\n".join(sorted(set(bad)))


#: recorded debt (issue 14): cross-module private names in the task layer. May only shrink.
KNOWN_PRIVATE: set = set()


def test_no_new_private_name_across_modules():
    used = set()
    for a, b, name, _ in IMPORTS:
        if name and name.startswith("_") and not name.startswith("__") and a != b \
                and not a.startswith(b + ".") and not b.startswith(a + "."):
            used.add((a, b, name))
    new = sorted(used - KNOWN_PRIVATE)
    assert not new, "private names used across modules (make them public or move them):\n" + \
        "\n".join(f"{a} uses {b}.{n}" for a, b, n in new)
    gone = sorted(KNOWN_PRIVATE - used)
    assert not gone, f"no longer used, remove from KNOWN_PRIVATE: {gone}"


def test_the_walk_sees_the_package():
    assert len(MODULES) > 60 and len(IMPORTS) > 300
    assert any(a == "mlsysim_sym.system" and b.startswith("mlsysim_sym.equations")
               for a, b, _, _ in IMPORTS)


# ---------------------------------------------------------------------------------------------
# The task layer's shape (issue 14): small modules, short public functions, old paths unused
# ---------------------------------------------------------------------------------------------
#: the deprecated import paths of the pre-package task layer: thin re-exports for one release
DEPRECATED = {"mlsysim_sym.scenarios", "mlsysim_sym.training_scenarios",
              "mlsysim_sym.workload_scenarios", "mlsysim_sym.fleet", "mlsysim_sym.planning",
              "mlsysim_sym.synthesis", "mlsysim_sym.scaling_laws", "mlsysim_sym.compression",
              "mlsysim_sym.footprint", "mlsysim_sym.explain", "mlsysim_sym.citations",
              "mlsysim_sym.uncertainty", "mlsysim_sym.iron_law"}
TASK_LAYER = ("mlsysim_sym.tasks", "mlsysim_sym.analysis")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _task_modules():
    return {n: p for n, p in MODULES.items() if n.startswith(TASK_LAYER)}


def test_deprecated_paths_are_thin_re_exports_nobody_inside_uses():
    for name in DEPRECATED:
        path = MODULES[name]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        body = [n for n in tree.body if not (isinstance(n, ast.Expr)
                                            and isinstance(n.value, ast.Constant))]
        assert all(isinstance(n, (ast.ImportFrom, ast.Import, ast.Assign)) for n in body), \
            f"{name} must only re-export (imports and __all__)"
    users = sorted({f"{a} -> {b}" for a, b, _, _ in IMPORTS
                    if b in DEPRECATED and a not in DEPRECATED})
    assert not users, "inside the package, import the new paths:\n" + "\n".join(users)


def test_no_task_layer_module_over_400_lines():
    long = {n: len(p.read_text(encoding="utf-8").splitlines())
            for n, p in _task_modules().items()}
    over = {n: k for n, k in long.items() if k > MAX_MODULE_LINES}
    assert not over, f"task-layer modules over {MAX_MODULE_LINES} lines: {over}"


def test_no_public_task_function_over_80_lines_of_code():
    over = []
    for n, p in _task_modules().items():
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and not node.name.startswith("_"):
                first = node.body[0]
                doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                start = first.end_lineno + 1 if doc and len(node.body) > 1 else node.lineno
                size = node.end_lineno - start + 1   # the code, not the docstring
                if size > MAX_FUNCTION_LINES:
                    over.append(f"{n}.{node.name}: {size} lines")
    assert not over, f"public functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(over)


def test_the_task_layer_exists():
    mods = _task_modules()
    assert "mlsysim_sym.tasks._core.result" in mods and len(mods) > 15
