"""The MCP server is an optional extra: the library never imports the SDK, and without it
``mlsysim-sym mcp`` says in one line how to install it (runs whether or not mcp is installed)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mlsysim_sym.cli import main


def test_import_does_not_import_mcp():
    code = ("import sys, mlsysim_sym as ms, mlsysim_sym.cli; ms.predict; ms.registry; ms.walls; "
            "assert not any(m == 'mcp' or m.startswith(('mcp.', 'mlsysim_sym.mcp_server')) "
            "for m in sys.modules), sorted(m for m in sys.modules if 'mcp' in m)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_extra_is_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mcp", None)  # import mcp now fails as if not installed
    assert main(["mcp"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0
    assert 'install with pip install "mlsysim_sym[mcp]"' in err


def test_http_port_is_checked(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["mcp", "--http", "70000"])
    assert exc.value.code == 2
    assert "must be a TCP port" in capsys.readouterr().err
