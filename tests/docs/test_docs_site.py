"""The documentation site's structure, checked without building it (CI builds it with
``mkdocs build --strict``, which needs the ``[docs]`` extra):

- every page the nav names exists, and every Markdown page under docs/ is in the nav (a page
  left out of the nav is unreachable on the site);
- every ```python block of the tutorials and how-to pages runs at build time (markdown-exec's
  ``exec="on"`` with a ``session``, so the blocks of a page share one namespace as they do in
  tests/docs/test_doc_examples.py), so a tutorial cannot rot unnoticed;
- the blocks that draw figures need the ``[plot]`` extra (which ``[docs]`` includes): they say
  so with ``<!-- doc-test: requires matplotlib -->`` right above the fence, so that
  tests/docs/test_doc_examples.py skips them where the extra is not installed;
- the API reference names only objects that exist;
- the tutorials use only the public API (``import mlsysim_sym as ms``).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
_FENCE = re.compile(r"^( *)```(\w*)([^\n]*)\n(.*?)^\1```", re.S | re.M)


def _config() -> dict:
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def _nav_pages(node) -> list:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [p for item in node for p in _nav_pages(item)]
    if isinstance(node, dict):
        return [p for v in node.values() for p in _nav_pages(v)]
    return []


def test_nav_pages_exist_and_every_page_is_in_the_nav():
    nav = [p for p in _nav_pages(_config()["nav"]) if not p.startswith("http")]
    missing = [p for p in nav if not (DOCS / p).is_file()]
    assert not missing, f"nav names pages that do not exist: {missing}"
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    orphans = sorted(pages - set(nav))
    assert not orphans, f"pages under docs/ that the nav does not reach: {orphans}"


def _executed_pages():
    return [pytest.param(p, id=p.relative_to(DOCS).as_posix())
            for sub in ("tutorials", "how-to") for p in sorted((DOCS / sub).glob("*.md"))]


@pytest.mark.parametrize("page", _executed_pages())
def test_tutorial_code_runs_at_build_time(page):
    fences = [m for m in _FENCE.finditer(page.read_text(encoding="utf-8"))
              if m.group(2) == "python"]
    if page.name == "index.md" and not fences:
        return
    assert fences, f"{page.name} has no python example"
    sessions = set()
    for m in fences:
        attrs = m.group(3)
        assert 'exec="on"' in attrs, f"{page.name}: a python block that the build does not run"
        session = re.search(r'session="([^"]+)"', attrs)
        assert session, f"{page.name}: an executed block without a session"
        sessions.add(session.group(1))
    assert len(sessions) == 1, f"{page.name}: blocks of one page must share one session"


def test_figure_blocks_say_they_need_the_plot_extra():
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        for m in _FENCE.finditer(text):
            body = m.group(4)
            if m.group(2) != "python" or not re.search(r"\.plot\(|matplotlib|mplot\.", body):
                continue
            above = text[:m.start()].rstrip("\n").splitlines()[-1]
            assert re.fullmatch(r"<!--\s*doc-test:\s*requires\s+matplotlib\b.*-->\s*", above), \
                f"{page.relative_to(DOCS)}: a figure block without the doc-test requires marker"


@pytest.mark.parametrize("page", sorted((DOCS / "tutorials").glob("0*.md")),
                         ids=lambda p: p.name)
def test_tutorials_use_only_the_public_api(page):
    code = "\n".join(m.group(4) for m in _FENCE.finditer(page.read_text(encoding="utf-8"))
                     if m.group(2) == "python")
    imports = re.findall(r"^\s*(?:from\s+(\S+)\s+import|import\s+(\S+))", code, re.M)
    ours = {a or b for a, b in imports if (a or b).startswith("mlsysim_sym")}
    assert ours == {"mlsysim_sym"}, f"{page.name} imports {sorted(ours)}"
    assert re.search(r"^import mlsysim_sym as ms$", code, re.M)


def test_api_reference_names_existing_objects():
    for page in sorted((DOCS / "reference").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"^::: (\S+)", text, re.M):
            parts = target.split(".")
            for cut in range(len(parts), 0, -1):    # longest importable module prefix
                try:
                    obj = importlib.import_module(".".join(parts[:cut]))
                except ImportError:
                    continue
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
                break
            else:
                pytest.fail(f"{page.name}: cannot import {target}")
        # explicit members lists (under a ::: module with options)
        for target, block in re.findall(r"^::: (\S+)\n((?:    .*\n)+)", text, re.M):
            module = importlib.import_module(target)
            for member in re.findall(r"^\s+- (\w+)$", block, re.M):
                assert hasattr(module, member), f"{page.name}: {target}.{member}"


def test_docs_extra_and_readme_agree():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    extra = re.search(r"^docs = \[(.*?)\]\n", pyproject, re.S | re.M)
    assert extra, "pyproject.toml has no [docs] extra"
    for package in ("mlsysim_sym[plot]", "mkdocs", "mkdocs-material", "mkdocstrings",
                    "markdown-exec"):
        assert f'"{package}' in extra.group(1), package
    plugins = [p if isinstance(p, str) else next(iter(p)) for p in _config()["plugins"]]
    assert {"markdown-exec", "mkdocstrings"} <= set(plugins)
    assert 'pip install -e ".[docs]" && mkdocs serve' in (ROOT / "README.md").read_text(
        encoding="utf-8")


def test_sphinx_roles_render_as_code_on_the_site():
    pytest.importorskip("griffe")                 # part of the [docs] extra
    spec = importlib.util.spec_from_file_location(
        "griffe_sphinx_roles", ROOT / "scripts" / "griffe_sphinx_roles.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.plain("see :func:`~mlsysim_sym.train` and :class:`Value`.") == \
        "see `train` and `Value`."
    assert mod.plain(":mod:`mlsysim_sym.plot`") == "`mlsysim_sym.plot`"
    assert "scripts/griffe_sphinx_roles.py:SphinxRoles" in (ROOT / "mkdocs.yml").read_text(
        encoding="utf-8")
