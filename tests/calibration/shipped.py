"""The shipped measurements' cases, built once per test session (a full build runs every
reproduction once: seconds of CPU). Tests read them; none may mutate them."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def shipped_cases() -> tuple:
    """(cases, not covered) of every shipped measurement, as ``build_cases`` gives them."""
    from mlsysim_sym.calibration.cases import build_cases
    from mlsysim_sym.calibration.measurements import shipped_measurements
    cases, uncovered = build_cases(shipped_measurements())
    return tuple(cases), tuple(uncovered)


def shipped_cases_of(ids) -> tuple:
    """(cases, not covered) of the shipped measurements with these ids, in shipped order."""
    ids = set(ids)
    cases, uncovered = shipped_cases()
    return [c for c in cases if c.id in ids], [u for u in uncovered if u.id in ids]
