"""Every code example in README.md and docs/ runs, so an example can never print NaN or rot.

- ```python blocks run in order, one namespace per page, in a scratch directory; every top-level
  expression is shown as an interactive session would show it, and no shown value, printed line
  or warning may be NaN ("All-NaN slice" and invalid-value warnings are errors here). A block
  that is an excerpt of a library module (relative imports) is compiled and its imports resolved
  against the package named in a ``<!-- doc-test: package mlsysim_sym.x -->`` comment above it.
- ```yaml blocks parse with ``yaml.safe_load``.
- Shell commands (``mlsysim-sym ...`` lines in ```bash/```console/```sh blocks or in indented
  blocks) run through the console script's ``main`` and must exit 0 without an exception or
  NaN; ``validate``/``calibrate`` runs are marked slow.
- ```text blocks and unlabelled fences are output or diagrams, not code.

docs/calibration.md runs its own workflow in tests/calibration/test_workflow_doc.py.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import io
import re
import shlex
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import yaml

from tests.calibration.validation_record import full_validation, sample_sources

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
OWN_TEST = {ROOT / "docs" / "calibration.md"}  # its workflow test runs the page as written
_FENCE = re.compile(r"^( *)```(\w*)[^\n]*\n(.*?)^\1```", re.S | re.M)
_PACKAGE = re.compile(r"<!--\s*doc-test:\s*package\s+([\w.]+)\s*-->\s*$")
_REQUIRES = re.compile(r"<!--\s*doc-test:\s*requires\s+([\w., ]+?)\s*-->\s*$")
#: what a shell example needs beyond the core install (an optional extra)
_COMMAND_REQUIRES = {"--plot": ("matplotlib",), " mcp": ("mcp",)}
_NAN = re.compile(r"\bnan\b", re.I)
SLOW_COMMANDS = ("validate", "calibrate")


def _missing(modules) -> list:
    return [m for m in modules if importlib.util.find_spec(m) is None]


def _requires(page: Path, line: int) -> tuple:
    """Modules (optional extras) the example fenced at ``line`` needs, from the
    ``doc-test: requires`` comment just above its fence."""
    lines = page.read_text(encoding="utf-8").splitlines()
    for text in lines[max(0, line - 3):line - 1]:
        m = _REQUIRES.search(text)
        if m:
            return tuple(x.strip() for x in m.group(1).replace(",", " ").split())
    return ()


def _blocks(page: Path):
    """(language, code, package or None, line) of every fenced block, and indented command lines."""
    text = page.read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        indent, lang, body = m.group(1), m.group(2).lower(), m.group(3)
        body = "\n".join(line[len(indent):] for line in body.splitlines())
        before = text[:m.start()].rstrip().splitlines()[-1:] or [""]
        pkg = _PACKAGE.search(before[0])
        out.append((lang, body, pkg.group(1) if pkg else None,
                    text[:m.start()].count("\n") + 1))
    # indented (4-space) command lines outside fences: the README's shell commands
    fenced = _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    for i, line in enumerate(fenced.splitlines(), 1):
        if line.startswith("    ") and line.strip().startswith(("mlsysim-sym ", "pip install")):
            out.append(("console", line.strip(), None, i))
    return out


def _commands():
    found = []
    for page in PAGES:
        for lang, body, _, line in _blocks(page):
            if lang not in ("bash", "sh", "console", "shell"):
                continue
            for cmd in body.splitlines():
                cmd = cmd.strip().lstrip("$ ").split("  #")[0].strip()
                for part in cmd.split("&&"):
                    part = part.strip()
                    if part.startswith("mlsysim-sym "):
                        marks = [pytest.mark.slow] if any(
                            f" {c} " in f" {part} " for c in SLOW_COMMANDS) else []
                        found.append(pytest.param(part, id=f"{page.name}:{line}:{part[:50]}",
                                                  marks=marks))
    return found


def _python_pages():
    return [pytest.param(p, id=str(p.relative_to(ROOT))) for p in PAGES
            if p not in OWN_TEST and any(b[0] == "python" for b in _blocks(p))]


def _yaml_blocks():
    return [pytest.param(body, id=f"{p.relative_to(ROOT)}:{line}")
            for p in PAGES for lang, body, _, line in _blocks(p) if lang == "yaml"]


def _shown(code: str, filename: str):
    """Compile ``code`` so that each top-level expression's value is appended to ``__shown__``."""
    tree = ast.parse(code, filename)
    body = []
    for node in tree.body:
        if isinstance(node, ast.Expr) and not (isinstance(node.value, ast.Call) and isinstance(
                node.value.func, ast.Name) and node.value.func.id == "print"):
            call = ast.parse("__shown__.append(None)").body[0]
            call.value.args = [node.value]
            body.append(ast.copy_location(call, node))
        else:
            body.append(node)
    tree.body = body
    return compile(ast.fix_missing_locations(tree), filename, "exec")


def _has_nan(value) -> bool:
    try:
        import numpy as np
        mag = getattr(value, "magnitude", value)
        if isinstance(mag, (float, np.floating, np.ndarray)) and np.size(mag) < 10**7:
            return bool(np.isnan(np.asarray(mag, dtype=float)).any())
    except (TypeError, ValueError):
        pass
    if isinstance(value, (tuple, list)):
        return any(_has_nan(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nan(v) for v in value.values())
    return bool(_NAN.search(repr(value)[:20000]))


@pytest.mark.parametrize("page", _python_pages())
def test_python_examples_run_and_show_no_nan(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scope = {"__name__": "__doc_example__", "__shown__": []}
    for lang, code, package, line in _blocks(page):
        if lang != "python":
            continue
        where = f"{page.relative_to(ROOT)}:{line}"
        missing = _missing(_requires(page, line))
        if missing:
            continue           # an optional extra's example: CI runs it with the extras installed
        if package or re.search(r"^\s*from \.", code, re.M):
            assert package, f"{where}: a module excerpt needs <!-- doc-test: package ... -->"
            tree = ast.parse(code, where)           # an excerpt: it compiles and its imports exist
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.level:
                    mod = importlib.import_module(
                        "." * node.level + (node.module or ""), package)
                    for alias in node.names:
                        assert hasattr(mod, alias.name), f"{where}: {mod.__name__}.{alias.name}"
            continue
        out = io.StringIO()
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            with redirect_stdout(out):
                exec(_shown(code, where), scope)   # the docs' own code, not user input
        assert not _NAN.search(out.getvalue()), f"{where} printed NaN:\n{out.getvalue()}"
        bad = [v for v in scope["__shown__"] if _has_nan(v)]
        assert not bad, f"{where} shows NaN: {bad[:3]!r}"
        scope["__shown__"].clear()


@pytest.mark.parametrize("body", _yaml_blocks())
def test_yaml_examples_parse(body):
    yaml.safe_load(body)


@pytest.mark.parametrize("command", _commands())
def test_shell_examples_run(command, tmp_path, monkeypatch, capsys, request):
    """Each ``mlsysim-sym`` line runs through the console script's own ``main`` (in this
    process: the CLI's start-up and error paths have subprocess tests of their own in
    tests/unit/test_cli.py); an exception escaping ``main`` fails here as a traceback would.

    ``validate`` runs as documented, but for its leave-one-source-out folds: one fold (the
    last of the sampled sources) unless ``--full-validation`` (every fold, minutes);
    tests/calibration/test_validation.py checks the folds themselves."""
    needs = [m for flag, mods in _COMMAND_REQUIRES.items() if flag in f" {command} " for m in mods]
    if _missing(needs):
        pytest.skip(f"needs the optional {', '.join(_missing(needs))} (CI installs the extras)")
    if " validate " in f" {command} " and "--no-loso" not in command \
            and not full_validation(request.config):
        import mlsysim_sym.calibration as calibration
        one = sample_sources()[-1:]
        real = calibration.validate
        monkeypatch.setattr(calibration, "validate",
                            lambda *a, **kw: real(*a, **{"sources": one, **kw}))
    from mlsysim_sym.cli import main
    argv = shlex.split(command)[1:]
    (tmp_path / "docs").symlink_to(ROOT / "docs")  # examples name files under docs/
    monkeypatch.chdir(tmp_path)
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    out = capsys.readouterr()
    assert status in (0, None), f"{command!r} exited {status}:\n{out.err[-2000:]}"
    assert not _NAN.search(out.out), f"{command!r} printed NaN:\n{out.out[-2000:]}"


def test_every_page_with_code_is_collected():
    # the collectors above must see the README's examples: a regex that silently finds nothing
    # would make this whole module pass without running anything
    assert any(p.values[0] == ROOT / "README.md" for p in _python_pages())
    assert any("predict" in p.values[0] for p in _commands())
    assert _yaml_blocks()
    readme = ROOT / "README.md"
    needs = [_requires(readme, line) for lang, _, _, line in _blocks(readme) if lang == "python"]
    assert ("matplotlib", "pandas") in needs and () in needs   # the plot block says so; others not
