"""A registry number with its provenance (standard library only).

The schema (pydantic) builds these when it validates a file; the registry read back from the
on-disk cache (:mod:`.store`) builds them on first use from the stored provenance, so an object
that is only read for its quantities never imports pydantic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only
    import pint

    from .schema import Provenance

__all__ = ["Value"]


@dataclass(frozen=True)
class Value:
    """A registry number with its complete provenance.

    Attributes
    ----------
    quantity : pint.Quantity
    provenance : Provenance
    text : str
        The quantity string as written in the YAML.
    """

    quantity: pint.Quantity
    provenance: Provenance
    text: str
