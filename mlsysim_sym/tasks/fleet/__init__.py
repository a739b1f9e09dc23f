"""Serving fleets: ``serve()`` (forward) and ``size_fleet()`` (the minimum fleet for an SLO).

Both evaluate the one serving system (walls 1, 2, 4, 7 and the continuous-batching record) at a
request rate; no physics lives here.

- ``load``: the serving system at a request rate: :func:`load_kernel`, :func:`load_inputs`,
  :func:`evaluate_load`, and the checks of the load's user values;
- ``service``: :func:`serve` and :class:`ServeResult` (with the uncertainty bands);
- ``size``: :func:`size_fleet` and :class:`FleetResult`;
- ``search``: the exact replica search, over every candidate chip and TP degree at once;
- ``disaggregated``: separate prefill and decode pools (``serve(prefill_replicas=...,
  decode_replicas=...)``, ``size_fleet(disaggregated=True)``) and :class:`DisaggregatedResult`;
- ``costs``: purchase or rental cost and yearly operational carbon of a fleet (wall 18).
"""

from .load import evaluate_load, load_inputs, load_kernel
from .service import ServeResult, serve
from .size import FleetResult, size_fleet
from .disaggregated import DisaggregatedResult

__all__ = ["serve", "size_fleet", "ServeResult", "FleetResult", "DisaggregatedResult",
           "load_kernel", "load_inputs", "evaluate_load"]
