"""Test-wide settings.

Hypothesis draws new examples on every run on a developer's machine (that is how it finds
bugs); under CI (the ``CI`` environment variable, as .ci/run and every hosted CI set it) the
examples are derandomized, so a submission's verdict does not depend on the draw.
"""

import atexit
import os
import shutil
import tempfile

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# The on-disk cache of generated kernels and of the symbol table (mlsysim_sym.cache): the suite
# never writes to the user's ~/.cache. One directory per session (subprocesses started by the
# tests inherit it), removed at exit; a test that needs its own sets MLSYSIM_CACHE_DIR itself.
_CACHE_DIR = tempfile.mkdtemp(prefix="mlsysim-test-cache-")
os.environ["MLSYSIM_CACHE_DIR"] = _CACHE_DIR
atexit.register(shutil.rmtree, _CACHE_DIR, ignore_errors=True)


def pytest_addoption(parser):
    # tests/calibration/test_validation.py: refit every leave-one-source-out fold (minutes)
    # instead of the sample the default slow run refits (validation_record.sample_sources)
    parser.addoption("--full-validation", action="store_true", default=False,
                     help="slow validation checks: refit all leave-one-source-out folds "
                          "(also MLSYSIM_FULL_VALIDATION=1)")
