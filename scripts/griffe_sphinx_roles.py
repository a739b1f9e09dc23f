"""A griffe extension for the documentation site (mkdocs.yml: mkdocstrings ``extensions``).

The docstrings use Sphinx roles (``:func:`~mlsysim_sym.train```, ``:class:`Value```), which
mkdocstrings would show verbatim; this turns each into inline code with the name Sphinx would
show (a leading ``~`` keeps only the last component). Only the site's rendering changes.
"""

from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|obj|exc|const):`(~?)([^`]+)`")


def plain(text: str) -> str:
    """``:func:`~a.b.c``` -> ```c```; ``:class:`a.B``` -> ```a.B```."""
    return _ROLE.sub(lambda m: f"`{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}`",
                     text)


class SphinxRoles(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain(obj.docstring.value)
