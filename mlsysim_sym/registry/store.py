"""The registry's validated data in the on-disk cache (standard library only).

Reading the shipped YAML and validating it with the pydantic schema costs a few tenths of a
second on every fresh process; its result depends only on the files' bytes and on the code that
validates them. After a data directory loads without a problem, the loader stores what it
built (every source record, every entry's validated fields, each value's quantity string and
provenance, the name index) as one entry of :mod:`mlsysim_sym.cache`; a later process builds
the same registry objects from it without importing PyYAML or pydantic (they load when
something asks for a schema object: an entry's ``spec``, a provenance, a source record).

The entry's key hashes the package version, ``registry/*.py``, ``units.py``, ``units.txt``,
``vocabulary.py``, the installed pydantic's and PyYAML's version files, the directory and every
data file's name and bytes (read on each load: an edited file is never served stale). A
missing, stale or corrupt entry is rebuilt from the YAML; ``MLSYSIM_CACHE_DIR=""`` turns the
cache off. A user's file (``registry.load``) is always validated.

Values that JSON does not hold (dates) and strings starting with NUL are written as tagged
strings (:func:`encode`, :func:`decode`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from pathlib import Path
from typing import Any, Optional

from .. import cache
from .names import DATA_DIR

__all__ = ["KIND", "DIR_KINDS", "data_files", "key", "read", "write", "encode", "decode",
           "shipped_index", "Unencodable"]

#: the cache's folder for registry entries
KIND = "registry"
#: the sub-directories of a data directory, in load order, and the kind of their files
DIR_KINDS = {"hardware": "hardware", "models": "model", "datacenters": "datacenter",
             "systems": "system", "sources": "source"}
#: the package files whose code decides what a validated registry holds
_CODE = ("registry/*.py", "units.py", "units.txt", "vocabulary.py")
_TAG = "\x00"


class Unencodable(TypeError):
    """Data :func:`encode` cannot store exactly (the registry is then not cached)."""


def data_files(root: Path) -> list[tuple[Path, str, str]]:
    """``(path, display name, kind)`` of every data file under ``root``, in load order (the
    display name is relative to the repository for the shipped directory)."""
    root = Path(root)
    label_root = root.parent.parent if root == DATA_DIR else root.parent
    files = []
    for sub, kind in DIR_KINDS.items():
        folder = root / sub
        if folder.is_dir():
            for path in sorted(folder.glob("*.y*ml")):
                try:
                    display = str(path.relative_to(label_root))
                except ValueError:
                    display = str(path)
                files.append((path, display, kind))
    return files


def _identity(root: Path) -> str:
    return f"registry:{Path(root).resolve()}"


def key(root: Path, files) -> Optional[str]:
    """The cache key of the registry read from ``files`` (:func:`data_files` of ``root``), or
    None when a file cannot be read (the loader then reports it)."""
    h = hashlib.sha256()
    for path, display, kind in files:
        try:
            data = Path(path).read_bytes()
        except OSError:
            return None
        for part in (display.encode("utf-8", "surrogateescape"), kind.encode(), data):
            h.update(len(part).to_bytes(8, "little") + part)
    versions = cache.installed_file("pydantic", "version.py") + cache.installed_file("yaml",
                                                                                "__init__.py")
    return cache.fingerprint(f"{_identity(root)}\0{h.hexdigest()}", patterns=_CODE,
                             files=versions)


_MEMO: dict = {}


def read(root: Path, files) -> Optional[dict]:
    """The payload stored for ``root``'s ``files``, or None (no cache, absent, stale, corrupt).

    The last payload read is kept for the process: the command line checks a name against the
    index, then loads the registry, from one read.
    """
    if cache.directory() is None:
        return None
    k = key(root, files)
    if k is None:
        return None
    ident = _identity(root)
    hit = _MEMO.get(ident)
    if hit is not None and hit[0] == k:
        return hit[1]
    payload = cache.read(KIND, ident, k)
    if not isinstance(payload, dict):
        return None
    _MEMO.clear()
    _MEMO[ident] = (k, payload)
    return payload


def write(root: Path, files, payload: dict) -> bool:
    """Store ``payload`` for ``root``'s ``files`` (False when the cache is off or not
    writable, or a file changed while it was read)."""
    k = key(root, files)
    if k is None:
        return False
    return cache.write(KIND, _identity(root), k, payload)


def shipped_index() -> Optional[dict[str, tuple[str, str]]]:
    """Index key -> (kind, canonical name) of the shipped entries from the cached registry, or
    None when it is not cached."""
    payload = read(DATA_DIR, data_files(DATA_DIR))
    index = payload.get("index") if payload is not None else None
    if not isinstance(index, dict):
        return None
    try:
        return {k: (kind, name) for k, (kind, name) in index.items()}
    except (TypeError, ValueError):
        return None


# ---- tagged JSON ---------------------------------------------------------------------------------

def encode(x: Any) -> Any:
    """``x`` (str, int, float, bool, None, date, datetime, lists, str-keyed dicts) as JSON data
    that :func:`decode` turns back into an equal value of the same types.

    Raises
    ------
    Unencodable
        For anything else (the caller then does not cache).
    """
    if x is None or isinstance(x, (bool, int, float)):
        return x
    if isinstance(x, str):
        return _TAG + x if x.startswith(_TAG) else x
    if isinstance(x, _dt.datetime):
        return f"{_TAG}t{x.isoformat()}"
    if isinstance(x, _dt.date):
        return f"{_TAG}d{x.isoformat()}"
    if isinstance(x, list):
        return [encode(v) for v in x]
    if isinstance(x, dict):
        out = {}
        for k, v in x.items():
            if not isinstance(k, str) or k.startswith(_TAG):
                raise Unencodable(f"a mapping key {k!r} is not plain text")
            out[k] = encode(v)
        return out
    raise Unencodable(f"cannot store a {type(x).__name__}")


def decode(x: Any) -> Any:
    """The value :func:`encode` stored as ``x``."""
    if isinstance(x, str):
        return decode_text(x) if x.startswith(_TAG) else x
    if isinstance(x, list):
        return [decode(v) for v in x]
    if isinstance(x, dict):
        return {k: decode(v) for k, v in x.items()}
    return x


def decode_text(x: str) -> Any:
    """A tagged string: a date, a datetime or an escaped string."""
    tag = x[1:2]
    if tag == "d":
        return _dt.date.fromisoformat(x[2:])
    if tag == "t":
        return _dt.datetime.fromisoformat(x[2:])
    return x[1:]
