"""Wall 15 - Fragility: how often a synchronous job at scale is interrupted, and what it costs.

Bounds: a synchronous training job stops when any one of its components fails, so the job is
a series system. With independent, exponentially distributed lifetimes (constant failure rates)
the rates add: a node of g accelerators and a host part fails at rate g / M_dev + 1 / M_host,
i.e. 1 / M_node = sum_i 1 / M_i, and a job on n nodes at n times that: M = M_node / n. Failures
then arrive as a Poisson process of rate 1 / M, so a job of duration T sees T / M failures on
average and at least one with probability 1 - exp(-T / M).

Goodput here is the continuous-checkpoint limit: each failure costs only the recovery time R
(detect, reschedule, restart, reload), during which no failure strikes; a cycle of mean M useful
time plus R recovery gives G = M / (M + R) = 1 / (1 + R / M), the steady-state availability
MTTF / (MTTF + MTTR). Relation to wall 19: Daly's
complete model, which also charges checkpoint writes delta every tau and the work lost since
the last checkpoint and lets failures strike during recovery, gives
G = tau / (M e^(R/M) (e^((tau + delta)/M) - 1)); as tau, delta -> 0 it tends to e^(-R/M).
Both equal 1 - R/M to first order in R/M, and wall 19's first-order waste
delta/tau + (tau + delta)/(2M) + R/M reduces to R/M in the same limit. Wall 15's G is therefore
an upper bound on the goodput of any checkpointing scheme with that recovery time.

Regime of validity: constant failure rates (no infant mortality or wear-out), independent
failures, every failure stops the whole job (no redundancy or in-place repair). Planned
maintenance is not a failure. Per-component MTBFs are empirical: the Llama 3 interruption
statistics (Table 5) give H100 clusters' rates (see the reference tests).

References
----------
Trivedi, "Probability and Statistics with Reliability, Queuing, and Computer Science
Applications", 2nd ed., Wiley, 2016 (series systems of exponential components).
Llama Team, AI @ Meta, "The Llama 3 Herd of Models", arXiv:2407.21783, 2024, Sec. 3.3.4, Table 5.
"""

import sympy

from .. import symbols as s
from .base import Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("trivedi2016reliability", "Trivedi, Kishor S.",
              "Probability and Statistics with Reliability, Queuing, and Computer Science "
              "Applications, 2nd ed.", "John Wiley & Sons", 2016, doi="10.1002/9781119285441",
              kind="book"),
    Reference("dubey2024llama3", "Llama Team, AI @ Meta",
              "The Llama 3 Herd of Models", "arXiv:2407.21783", 2024,
              url="https://arxiv.org/abs/2407.21783", kind="misc"),
)

_M = s.cluster_mtbf

WALL = Wall(
    number=15,
    name="Fragility",
    domain="fleet",
    summary=(
        "A synchronous job is only as reliable as all of its parts together: failure rates add "
        "over every accelerator and host, so the mean time between job interruptions falls as "
        "one over the node count. At 16K GPUs an interruption every few hours is normal, and "
        "every one costs recovery time (and, with checkpoints, lost work: wall 19)."
    ),
    regime="Independent components with constant failure rates (exponential lifetimes); every "
           "failure stops the whole job; recovery itself does not fail; planned maintenance "
           "excluded.",
    equations=(
        Equation(s.node_mtbf,
                 1 / (s.devices_per_node / s.device_mtbf + 1 / s.node_component_mtbf),
                 cite="trivedi2016reliability",
                 locator="series system of independent exponential components: failure rates "
                         "add, 1/M = sum 1/M_i"),
        Equation(_M, s.node_mtbf / s.nodes, cite="trivedi2016reliability",
                 locator="series system of n identical nodes: rate n / M_node"),
        Equation(s.expected_failures, s.job_duration / _M, cite="trivedi2016reliability",
                 locator="Poisson process of rate 1/M: mean count T/M"),
        Equation(s.failure_probability, 1 - sympy.exp(-s.job_duration / _M),
                 cite="trivedi2016reliability",
                 locator="exponential time to first failure: P(X <= T) = 1 - exp(-T/M)"),
        Equation(s.failure_goodput, 1 / (1 + s.recovery_time / _M),
                 cite="trivedi2016reliability",
                 locator="steady-state availability A = MTTF / (MTTF + MTTR)",
                 note="renewal cycle of M useful time + R recovery: M/(M+R); the "
                      "continuous-checkpoint limit of wall 19's goodput (equal to first order)"),
    ),
    references=("trivedi2016reliability", "dubey2024llama3"),
)
