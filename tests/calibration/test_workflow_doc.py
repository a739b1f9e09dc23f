"""The calibration workflow of docs/calibration.md runs as written."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "calibration.md"


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), flags=re.S)


def test_documented_workflow_runs(tmp_path, monkeypatch):
    (tmp_path / "mine.yaml").write_text(_blocks("yaml")[0])
    monkeypatch.chdir(tmp_path)
    scope = {}
    for code in _blocks("python"):
        exec(compile(code, str(DOC), "exec"), scope)  # the doc's own code, not user input
    fit = scope["fit"]
    assert fit.parameters["memory_efficiency[serve]"].identifiable
    assert 0 < fit.values["memory_efficiency[serve]"] <= 1
    assert all(abs(r.error) < 0.05 for r in fit.rows)


def test_readme_calibration_example_file_is_the_documented_one():
    example = DOC.parents[0] / "examples" / "my_measurements.yaml"
    assert example.read_text() == _blocks("yaml")[0]
