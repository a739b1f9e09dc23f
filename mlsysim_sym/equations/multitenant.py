"""Wall 16 - Multi-tenant: how long jobs wait for a shared cluster (M/G/1 queueing).

Bounds: jobs arriving at rate lambda to a shared partition that runs one gang-scheduled job at
a time (FCFS) form an M/G/1 queue. Its offered load is rho = lambda E[S]; the queue is stable
only if rho < 1. The Pollaczek-Khinchine formula gives the mean wait
W_q = lambda E[S^2] / (2 (1 - rho)); with E[S^2] = (1 + c_S^2) E[S]^2 for a job-size coefficient
of variation c_S, W_q = rho (1 + c_S^2) / (2 (1 - rho)) E[S]. Waiting grows without bound as
rho -> 1 and with the variability of job sizes: at c_S = 1 (exponential sizes) it is the M/M/1
wait rho / (1 - rho) E[S], at c_S = 0 (identical jobs) half that (M/D/1: rho / (2 mu (1 - rho))).
Mean response time W = W_q + E[S]; Little's law gives the mean number waiting, L_q = lambda W_q,
and in the system, L = lambda W. An unstable queue (rho >= 1) has unbounded wait: sympy.oo.

Regime of validity: Poisson job arrivals, independent job sizes with finite second moment, one
job at a time on the partition, FCFS, no preemption or backfilling, steady state. Several
servers (replicas, partitions) are wall 7's M/M/c; heavy-tailed sizes under processor sharing
or SRPT wait far less than FCFS (Harchol-Balter Part VII).

References
----------
Harchol-Balter, "Performance Modeling and Design of Computer Systems: Queueing Theory in
Action", Cambridge University Press, 2013, Ch. 23 (M/G/1, Pollaczek-Khinchine).
Little, "A Proof for the Queuing Formula: L = lambda W", Operations Research 9(3), 1961.
"""

import sympy

from .. import symbols as s
from .base import Constraint, Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("harcholbalter2013performance", "Harchol-Balter, Mor",
              "Performance Modeling and Design of Computer Systems: Queueing Theory in Action",
              "Cambridge University Press", 2013, doi="10.1017/CBO9781139226424", kind="book"),
    Reference("little1961", "Little, John D. C.", "A Proof for the Queuing Formula: L = lambda W",
              "Operations Research 9(3)", 1961, doi="10.1287/opre.9.3.383"),
)

_rho, _S = s.cluster_utilization, s.mean_job_size

WALL = Wall(
    number=16,
    name="Multi-tenant",
    domain="fleet",
    summary=(
        "On a shared cluster, jobs queue for the partition: the mean wait grows as "
        "rho / (1 - rho) with the offered load and with the variability of job sizes "
        "(Pollaczek-Khinchine), so a partition run near full utilisation makes every user wait "
        "many job-lengths, and at rho >= 1 the queue never drains."
    ),
    regime="M/G/1: Poisson job arrivals, i.i.d. job sizes with finite variance, one job at a "
           "time, FCFS without preemption or backfilling, steady state; unstable (infinite "
           "wait) at utilisation >= 1.",
    equations=(
        Equation(_rho, s.job_arrival_rate * _S, cite="harcholbalter2013performance",
                 locator="Ch. 23: load rho = lambda E[S] of an M/G/1 queue"),
        Equation(s.job_queue_wait,
                 sympy.Piecewise((_rho * (1 + s.job_size_cv ** 2) / (2 * (1 - _rho)) * _S,
                                  _rho < 1), (sympy.oo, True)),
                 cite="harcholbalter2013performance",
                 locator="Ch. 23: P-K formula E[T_Q] = rho/(1-rho) E[S^2]/(2 E[S]) = "
                         "lambda E[S^2] / (2(1-rho))",
                 note="E[S^2] = (1 + c_S^2) E[S]^2; unstable (rho >= 1) -> infinite wait"),
        Equation(s.job_response_time, s.job_queue_wait + _S, cite="harcholbalter2013performance",
                 locator="Ch. 23: E[T] = E[T_Q] + E[S]"),
        Equation(s.jobs_in_queue, s.job_arrival_rate * s.job_queue_wait, cite="little1961",
                 locator="L = lambda W applied to the queue"),
        Equation(s.jobs_in_system, s.job_arrival_rate * s.job_response_time, cite="little1961",
                 locator="L = lambda W applied to queue + server"),
    ),
    constraints=(
        Constraint("cluster_queue_stable", _rho, sympy.Integer(1),
                   cite="harcholbalter2013performance", kind="stability",
                   locator="M/G/1 is stable iff rho < 1"),
    ),
    references=("harcholbalter2013performance", "little1961"),
)
