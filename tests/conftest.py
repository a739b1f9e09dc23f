"""Test-wide settings.

Hypothesis draws new examples on every run on a developer's machine (that is how it finds
bugs); under CI (the ``CI`` environment variable, as .ci/run and every hosted CI set it) the
examples are derandomized, so a submission's verdict does not depend on the draw.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
