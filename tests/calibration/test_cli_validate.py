"""mlsysim-sym validate and calibrate on the command line."""

from mlsysim_sym.cli import main


def test_validate_in_sample_summary(capsys):
    assert main(["validate", "--no-loso", "--summary", "--category", "tinyml"]) == 0
    out = capsys.readouterr().out
    assert "tinyml" in out and "in-sample median" in out
    assert "nan" not in out.lower()  # no LOSO run: its columns say '-', not 'nan%'


def test_calibrate_missing_file_is_one_clear_line(capsys):
    assert main(["calibrate", "/no/such/file.yaml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlsysim-sym: error:") and "cannot read" in err


def test_calibrate_unknown_parameter_is_one_clear_line(capsys):
    assert main(["calibrate", "--parameter", "speed_of_light"]) == 2
    assert "not a calibrated parameter" in capsys.readouterr().err


def test_validate_takes_workers_and_reports_vendors(capsys):
    assert main(["validate", "--no-loso", "--summary", "--category", "tinyml",
                 "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "vendor" in out and "st " in out
