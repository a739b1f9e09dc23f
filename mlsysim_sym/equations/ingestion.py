"""Wall 8 - Ingestion: can storage and the network deliver samples as fast as the accelerators
consume them?

Bounds: training reads every sample of a step from host DRAM (cache hits) or from storage
(misses). The accelerators consume ``S_step`` samples per ``step_time`` (wall 2's roofline step,
so X = S_step / T_step samples/s), i.e. a read bandwidth X x b_s. One step's bytes are fetched
with cache hits and storage reads in flight at once (many loader workers), so the fetch time is
the slower of the two streams, and the storage stream runs at the slower of the storage device
and the network to it. The utilization rho = demand / supply says whether ingestion keeps up;
with loading overlapped with compute (prefetching), a step waits only for the excess,
``max(0, T_fetch - T_step)``: Mohan et al.'s *fetch stall*. Little's law gives the reads that
must be in flight to sustain the demand at the storage latency (the prefetch depth / queue
depth a loader needs).

Regime of validity: steady-state epochs with samples read once per epoch in random order,
prefetching deep enough (at least ``prefetch_depth``) that loading overlaps compute; the cache
hit ratio is the fraction of bytes found in DRAM (for an LRU page cache under random access it
can be far below the cached fraction of the dataset: Mohan et al. find page-cache thrashing).
Preprocessing is wall 9; the combined data stall is ``data_stall_time`` there.

References
----------
Mohan, Phanishayee, Raniwala, Chidambaram, "Analyzing and Mitigating Data Stalls in DNN
Training", PVLDB 14(5), 2021.
Little, "A Proof for the Queuing Formula: L = lambda W", Operations Research 9(3), 1961.
Williams, Waterman, Patterson, "Roofline", CACM 52(4), 2009 (step_time).
"""

import sympy

from .. import symbols as s
from .base import Constraint, Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("mohan2021datastalls",
              "Mohan, Jayashree and Phanishayee, Amar and Raniwala, Ashish and Chidambaram, Vijay",
              "Analyzing and Mitigating Data Stalls in DNN Training",
              "Proceedings of the VLDB Endowment 14(5)", 2021, doi="10.14778/3446095.3446100"),
    Reference("little1961", "Little, John D. C.", "A Proof for the Queuing Formula: L = lambda W",
              "Operations Research 9(3)", 1961, doi="10.1287/opre.9.3.383"),
)

_step_bytes = s.samples_per_step * s.bytes_per_sample
_storage_path = sympy.Min(s.storage_bandwidth, s.storage_network_bandwidth)

WALL = Wall(
    number=8,
    name="Ingestion",
    domain="data",
    summary=(
        "The accelerators consume samples at the rate their step time allows; storage (and the "
        "network to it) and the host cache must supply those bytes as fast. The ratio of demanded "
        "to supplied bandwidth says whether they do; when they do not, each step waits for the "
        "fetch (a fetch stall), however fast the accelerators are."
    ),
    regime="Steady-state training epochs, random sample order, loading overlapped with compute "
           "through prefetching; cache hits and storage misses fetched concurrently.",
    equations=(
        Equation(s.accelerator_sample_rate, s.samples_per_step / s.step_time,
                 cite="mohan2021datastalls",
                 locator="DS-Analyzer: maximum GPU ingestion rate, measured with no fetch or prep stalls"),
        Equation(s.ingestion_demand_bandwidth, s.accelerator_sample_rate * s.bytes_per_sample,
                 cite="mohan2021datastalls",
                 locator="fetch-stall analysis: read throughput needed to keep the GPUs busy"),
        Equation(s.data_fetch_time,
                 sympy.Max((1 - s.cache_hit_ratio) * _step_bytes / _storage_path,
                           s.cache_hit_ratio * _step_bytes / s.cache_bandwidth),
                 cite="mohan2021datastalls",
                 locator="fetch-stall analysis and DS-Analyzer what-if: fetch rate from DRAM cache "
                         "vs storage as the cached fraction varies",
                 note="cache hits and misses are fetched concurrently (Max); the storage path is "
                      "the slower of device and network (Min)"),
        Equation(s.ingestion_supply_bandwidth, _step_bytes / s.data_fetch_time,
                 cite="mohan2021datastalls", locator="DS-Analyzer: fetch throughput"),
        Equation(s.ingestion_utilization,
                 s.ingestion_demand_bandwidth / s.ingestion_supply_bandwidth,
                 cite="mohan2021datastalls",
                 locator="fetch stalls occur when the fetch rate is below the GPU ingestion rate"),
        Equation(s.fetch_stall_time, sympy.Max(0, s.data_fetch_time - s.step_time),
                 cite="mohan2021datastalls",
                 locator="definition of data stalls: fetch stall = time the GPU waits for data to "
                         "be fetched, fetch pipelined with compute"),
        Equation(s.prefetch_depth, s.accelerator_sample_rate * s.storage_latency,
                 cite="little1961", locator="L = lambda W (reads in flight = rate x latency)"),
    ),
    constraints=(
        Constraint("ingestion_keeps_up", s.ingestion_demand_bandwidth,
                   s.ingestion_supply_bandwidth, cite="mohan2021datastalls", kind="capacity",
                   locator="no fetch stall iff fetch rate >= GPU ingestion rate"),
    ),
    references=("mohan2021datastalls", "little1961"),
)
