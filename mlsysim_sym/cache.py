"""The on-disk cache of generated code and tables (standard library only).

A prediction in a fresh process should not pay for sympy and the walls: the kernels
:mod:`mlsysim_sym.numeric` generates from a composed system (Python source that runs on
``math`` or numpy), the symbols' side table (units, bounds) and the registry's validated data
(:mod:`mlsysim_sym.registry.store`) are stored here once and read back by later processes. Each
entry is one file: a one-line JSON header (format, key, identity, the sha256 of the rest) and
the payload's JSON. The key is a hash of everything the
entry was derived from: the package version (``__init__.py``), the source text of the files it
depends on (``equations/*.py``, ``symbols/*.py``, ``units.txt``, ...), sympy's release, the
Python version and the entry's own identity; reading those files costs about a millisecond
and imports nothing.

Where: ``$MLSYSIM_CACHE_DIR`` when set (an empty value turns the disk cache off), else
``$XDG_CACHE_HOME/mlsysim_sym``, else ``~/.cache/mlsysim_sym``. Nothing here ever raises for a
missing, read-only or corrupt cache: :func:`read` answers None (the caller rebuilds) and
:func:`write` answers False (the caller keeps what it built in memory). An entry whose key,
format or checksum does not match is refused, and the next write replaces it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

__all__ = ["ENV", "FORMAT", "PACKAGE", "directory", "fingerprint", "read", "write", "file_name",
           "installed_file"]

#: environment variable naming the cache directory ("" turns the disk cache off)
ENV = "MLSYSIM_CACHE_DIR"
#: version of the entry layout; a change refuses every older entry
FORMAT = 1
#: the package's source directory
PACKAGE = Path(__file__).resolve().parent


def directory() -> Path | None:
    """The cache's root directory, or None when it is turned off or there is no home."""
    env = os.environ.get(ENV)
    if env is not None:
        return Path(env).expanduser() if env.strip() else None
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "mlsysim_sym"
    try:
        home = Path.home()
    except (RuntimeError, KeyError, OSError):   # no HOME and no passwd entry
        return None
    return home / ".cache" / "mlsysim_sym"


@lru_cache(maxsize=64)
def _files_digest(paths: tuple) -> str:
    """sha256 over the names and bytes of ``paths`` (a missing file counts as its absence)."""
    h = hashlib.sha256()
    for p in paths:
        h.update(p.encode("utf-8", "surrogateescape") + b"\0")
        try:
            h.update(Path(p).read_bytes())
        except OSError:
            h.update(b"<missing>")
        h.update(b"\0")
    return h.hexdigest()


def _package_files(patterns) -> tuple:
    out = []
    for pat in patterns:
        out.extend(sorted(str(p) for p in PACKAGE.glob(pat)))
    return tuple(out)


@lru_cache(maxsize=1)
def _sympy_release() -> str:
    """sympy's release file text, read without importing sympy ("" when sympy is absent)."""
    import importlib.util
    try:
        spec = importlib.util.find_spec("sympy")
    except (ImportError, ValueError):
        return ""
    if spec is None or not spec.origin:
        return ""
    try:
        return (Path(spec.origin).parent / "release.py").read_text(encoding="utf-8")
    except OSError:
        return ""


def installed_file(package: str, name: str) -> list[str]:
    """``[path]`` of installed ``package``'s file ``name`` (its version file: what a cached
    parse depends on, for :func:`fingerprint`'s ``files``), found without importing it; ``[]``
    when the package is not installed."""
    import importlib.util
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.origin:
        return []
    return [str(Path(spec.origin).parent / name)]


def fingerprint(identity: str, patterns=(), files=()) -> str:
    """The key of an entry: a hash of ``identity``, sympy's release, the Python version, this
    module, the package's ``__init__.py`` (its ``__version__``) and every package file matching
    ``patterns`` (globs relative to the package, ``"equations/*.py"``) plus ``files``
    (absolute paths)."""
    paths = (_package_files(tuple(patterns) + ("cache.py", "__init__.py"))
             + tuple(str(f) for f in files))
    h = hashlib.sha256()
    for part in (str(FORMAT), "%d.%d" % sys.version_info[:2],
                 hashlib.sha256(_sympy_release().encode()).hexdigest(),
                 _files_digest(paths), identity):
        h.update(part.encode("utf-8", "surrogateescape") + b"\0")
    return h.hexdigest()


def file_name(identity: str) -> str:
    """A short file name for an entry's identity (one file per identity: a rebuilt entry
    replaces the stale one instead of piling up)."""
    return hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()[:24] + ".json"


def read(kind: str, identity: str, key: str):
    """The payload stored for ``identity`` under ``key``, or None (absent, unreadable, not
    JSON, another format, key or identity, or a payload whose checksum does not match)."""
    root = directory()
    if root is None:
        return None
    try:
        raw = (root / kind / file_name(identity)).read_bytes()
        head, _, body = raw.partition(b"\n")
        header = json.loads(head)
        if not isinstance(header, dict) or header.get("format") != FORMAT \
                or header.get("key") != key or header.get("identity") != identity \
                or header.get("checksum") != hashlib.sha256(body).hexdigest():
            return None
        return json.loads(body)
    except (OSError, ValueError):       # missing, unreadable, not UTF-8, not JSON
        return None


def write(kind: str, identity: str, key: str, payload) -> bool:
    """Store ``payload`` (JSON-able) for ``identity`` under ``key``, atomically (a reader sees
    the old file or the new one, never half of one). The file is a one-line JSON header
    (format, key, identity, sha256 of the rest) and the payload's JSON. False when the cache
    is off or not writable; never raises for the file system."""
    root = directory()
    if root is None:
        return False
    folder = root / kind
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    header = json.dumps({"format": FORMAT, "key": key, "identity": identity,
                         "checksum": hashlib.sha256(body).hexdigest()}).encode("utf-8")
    tmp = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
        with os.fdopen(fd, "wb") as f:
            f.write(header + b"\n" + body)
        os.replace(tmp, folder / file_name(identity))
        return True
    except OSError:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return False
