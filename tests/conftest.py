"""Test-wide settings.

Hypothesis draws new examples on every run on a developer's machine (that is how it finds
bugs); under CI (the ``CI`` environment variable, as .ci/run and every hosted CI set it) the
examples are derandomized, so a submission's verdict does not depend on the draw.
"""

import atexit
import os
import shutil
import tempfile

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# The on-disk cache of generated kernels and of the symbol table (mlsysim_sym.cache): the suite
# never writes to the user's ~/.cache. One directory per test run (subprocesses started by the
# tests inherit it), removed at exit; a test that needs its own sets MLSYSIM_CACHE_DIR itself.
# The pytest-xdist workers of one run (addopts `-n auto`) share it, so a kernel is compiled once
# per run, not once per worker: mlsysim_sym.cache writes an entry to a temporary file and
# os.replace()s it into place, so workers writing the same entry at once leave a whole one
# (tests/unit/test_cache_concurrency.py).
_WORKER_MARK = ".worker-"


def _leave(path, marker):
    """Remove this worker's marker; the last worker of the run removes the directory."""
    try:
        os.unlink(marker)
        if not any(n.startswith(_WORKER_MARK) for n in os.listdir(path)):
            shutil.rmtree(path, ignore_errors=True)
    except OSError:
        pass


def _run_cache_dir() -> str:
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")   # set in each worker by pytest-xdist
    if not run.isalnum():       # one process (-n 0, or without pytest-xdist): its own directory
        path = tempfile.mkdtemp(prefix="mlsysim-test-cache-")
        atexit.register(shutil.rmtree, path, ignore_errors=True)
        return path
    path = os.path.join(tempfile.gettempdir(), f"mlsysim-test-cache-{run}")
    os.makedirs(path, mode=0o700, exist_ok=True)
    marker = os.path.join(path, f"{_WORKER_MARK}{os.getpid()}")
    open(marker, "w").close()
    atexit.register(_leave, path, marker)
    return path


os.environ["MLSYSIM_CACHE_DIR"] = _run_cache_dir()


#: at most this many examples per hypothesis test (the environment variable; unset: each test's
#: own count). .ci/run's second pass on the oldest allowed dependencies sets it: the newest
#: versions' pass explores the input space with the full counts, and this one checks that the
#: code paths the properties reach run on the old libraries, so every test still runs there.
MAX_EXAMPLES_ENV = "MLSYSIM_HYPOTHESIS_MAX_EXAMPLES"


def pytest_collection_modifyitems(config, items):
    cap = os.environ.get(MAX_EXAMPLES_ENV, "")
    if not cap:
        return
    if not cap.isdigit() or int(cap) < 1:
        raise pytest.UsageError(f"{MAX_EXAMPLES_ENV} must be a whole number >= 1, got {cap!r}")
    for item in items:
        fn = getattr(item, "obj", None)
        # hypothesis reads a test's settings from this attribute when the test runs
        current = getattr(fn, "_hypothesis_internal_use_settings", None)
        if current is not None and current.max_examples > int(cap):
            fn._hypothesis_internal_use_settings = settings(current, max_examples=int(cap))


def pytest_addoption(parser):
    # tests/calibration/test_validation.py: refit every leave-one-source-out fold (minutes)
    # instead of the sample the default slow run refits (validation_record.sample_sources)
    parser.addoption("--full-validation", action="store_true", default=False,
                     help="slow validation checks: refit all leave-one-source-out folds "
                          "(also MLSYSIM_FULL_VALIDATION=1)")
