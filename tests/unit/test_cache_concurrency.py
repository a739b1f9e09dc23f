"""The on-disk cache shared by several processes at once (pytest-xdist workers, parallel CLI
runs, dask workers on one machine).

Every write of ``mlsysim_sym.cache`` goes to a temporary file in the entry's folder that is then
``os.replace()``d over the entry, so a reader opens the old file or the new one, never half of
one, and processes writing the same entry at once leave one whole entry (the last one). These
tests start the writers together and look at the raw files, not through ``cache.read`` (which
would hide a torn file by refusing it).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from mlsysim_sym import cache

ROOT = Path(__file__).resolve().parents[2]

_WAIT = """
import os, sys, time
go = sys.argv[1]
for _ in range(60000):          # a barrier: start when the test says so (at most 60 s)
    if os.path.exists(go):
        break
    time.sleep(0.001)
"""

_WRITER = _WAIT + """
from mlsysim_sym import cache
me = int(sys.argv[2])
payload = {"writer": me, "data": [me] * 50000}      # ~150 kB: many write() calls per entry
for _ in range(int(sys.argv[3])):
    assert cache.write("race", "one-entry", "k", payload)
"""

_COMPILER = _WAIT + """
from mlsysim_sym import System, numeric, walls
def build():
    return System.from_walls(walls.compute, walls.memory)
k = numeric.cached_kernel("race-small", ("compute_time", "memory_time"), None, build)
point = [{"flops": 2e12, "peak_flops": 1e15, "compute_efficiency": 0.5, "bytes_moved": 4e9,
          "memory_bandwidth": 3e12, "memory_efficiency": 0.8}[n] for n in k.input_names]
print("RESULT", repr([float(v) for v in k.raw(*point)]))
"""


def _start(code, go, *args, cache_dir):
    env = dict(os.environ, **{cache.ENV: str(cache_dir)})
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.Popen([sys.executable, "-c", code, str(go), *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _whole(raw: bytes):
    """The payload of a raw entry file, asserting it is whole (header checksum matches)."""
    head, sep, body = raw.partition(b"\n")
    assert sep, f"no header line: {raw[:80]!r}"
    header = json.loads(head)
    assert header["checksum"] == hashlib.sha256(body).hexdigest(), "a torn entry"
    return json.loads(body)


def test_processes_writing_one_entry_at_once_never_leave_or_show_half_of_it(tmp_path,
                                                                          monkeypatch):
    go = tmp_path / "go"
    root = tmp_path / "cache"
    writers = [_start(_WRITER, go, i, 40, cache_dir=root) for i in range(4)]
    path = root / "race" / cache.file_name("one-entry")
    go.touch()
    seen = set()
    while any(p.poll() is None for p in writers):
        try:
            raw = path.read_bytes()
        except FileNotFoundError:   # before the first write lands
            continue
        seen.add(_whole(raw)["writer"])       # every read is a whole entry of one writer
    for p in writers:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert _whole(path.read_bytes())["writer"] in range(4)
    assert seen <= set(range(4))
    monkeypatch.setenv(cache.ENV, str(root))
    assert cache.read("race", "one-entry", "k")["writer"] in range(4)
    # no temporary file left behind
    assert [f.name for f in (root / "race").iterdir()] == [path.name]


def test_processes_compiling_one_kernel_into_an_empty_cache_at_once_agree(tmp_path):
    processes = 3       # each imports sympy and compiles a two-wall system (~2 CPU-s)
    go = tmp_path / "go"
    root = tmp_path / "cache"
    runs = [_start(_COMPILER, go, cache_dir=root) for _ in range(processes)]
    go.touch()
    results = []
    for p in runs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        (line,) = [x for x in out.splitlines() if x.startswith("RESULT")]
        results.append(line)
    assert len(set(results)) == 1, results
    entries = sorted((root / "kernels").iterdir())
    assert len(entries) == 1 and not entries[0].name.startswith(".tmp-"), entries
    # one whole entry holding the scalar kernel each process ran
    assert "math" in _whole(entries[0].read_bytes())["kernels"]
