"""Wall 19 - Checkpoint: the I/O penalty of checkpointing and the optimum checkpoint interval.

Bounds: a job that saves its training state every tau of compute pays the write time delta each
time, and on every failure loses the work since the last checkpoint plus the recovery time R.

- Size: parameters x bytes per parameter of the saved state. Mixed-precision Adam keeps
  2 + 2 + 12 = 16 B/param in memory (ZeRO Sec. 3.1: 16-bit weights and gradients, fp32 master
  weights and two fp32 moments); a checkpoint drops the gradients: 2 + 12 = 14 B/param (BLOOM's
  176B checkpoint with optimizer states is 2.3 TB, ~14.3 B/param). Write time
  delta = size / storage write bandwidth (the aggregate the job achieves).
- Young (1974): minimising the first-order waste delta/tau + (tau + delta)/(2M) gives
  tau = sqrt(2 delta M). Daly (2006, eq. 37) adds higher-order terms:
  tau = sqrt(2 delta M) [1 + sqrt(delta/(2M))/3 + delta/(18 M)] - delta for delta < 2M, else M.
- Waste (first order in delta/tau, tau/M, R/M): checkpoint writes delta/tau; failures cost on
  average half an interval of rework plus the recovery, (tau + delta)/(2M) + R/M.
- Goodput, Daly's complete model (Poisson failures that may also strike during a restart):
  T_wall = M e^(R/M) (e^((tau + delta)/M) - 1) T_solve / tau, so
  G = tau / (M e^(R/M) (e^((tau + delta)/M) - 1)), in (0, 1] for every input (encoded with
  e^x - 1 = 2 e^(x/2) sinh(x/2), exact and free of cancellation at small x), and
  1 - G = delta/tau + (tau + delta)/(2M) + R/M to first order. With wall 15 composed, M is its
  cluster MTBF (the job's mean time to interrupt) and R its recovery time; wall 15's
  1 / (1 + R/M) is the tau, delta -> 0 limit with failure-free recovery.

Regime of validity: exponential failures of the whole job (wall 15), blocking checkpoints of
fixed cost (asynchronous or in-memory checkpointing shrinks the effective delta), a run much
longer than tau. Young's and Daly's intervals are optima of the first-order and complete models
respectively; Daly's is accurate for delta < 2M.

References
----------
Young, "A first order approximation to the optimum checkpoint interval", CACM 17(9), 1974.
Daly, "A higher order estimate of the optimum checkpoint interval for restart dumps", FGCS
22(3), 2006.
Rajbhandari, Rasley, Ruwase, He, "ZeRO: Memory Optimizations Toward Training Trillion Parameter
Models", SC20, Sec. 3.1.
"""

import sympy

from .. import symbols as s
from .base import Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("young1974checkpoint", "Young, John W.",
              "A first order approximation to the optimum checkpoint interval",
              "Communications of the ACM 17(9)", 1974, doi="10.1145/361147.361115"),
    Reference("daly2006checkpoint", "Daly, J. T.",
              "A higher order estimate of the optimum checkpoint interval for restart dumps",
              "Future Generation Computer Systems 22(3)", 2006,
              doi="10.1016/j.future.2004.11.016"),
    Reference("rajbhandari2020zero", "Rajbhandari, Samyam and Rasley, Jeff and Ruwase, Olatunji "
              "and He, Yuxiong",
              "ZeRO: Memory Optimizations Toward Training Trillion Parameter Models",
              "Proceedings of SC20", 2020, doi="10.1109/SC41405.2020.00024",
              kind="inproceedings"),
)

_M, _R = s.cluster_mtbf, s.recovery_time
_delta, _tau = s.checkpoint_write_time, s.checkpoint_interval
_young = sympy.sqrt(2 * _delta * _M)
_xi = _delta / (2 * _M)  # Daly's dimensionless dump time
_half = (_tau + _delta) / (2 * _M)

WALL = Wall(
    number=19,
    name="Checkpoint",
    domain="ops",
    summary=(
        "Checkpointing trades I/O for safety: writing the training state (about 14 bytes per "
        "parameter with Adam) often wastes time on writes, rarely wastes work on failures. The "
        "optimum interval is near sqrt(2 x write time x MTBF) (Young, Daly), and what is left "
        "is the goodput: the fraction of wall time that trains."
    ),
    regime="Exponential whole-job failures with mean M (wall 15), blocking checkpoints of fixed "
           "write time, recovery time R, a run much longer than the interval; Daly's interval "
           "for delta < 2M (else M).",
    equations=(
        Equation(s.checkpoint_bytes, s.parameters * s.bytes_per_parameter_checkpoint,
                 cite="rajbhandari2020zero",
                 locator="Sec. 3.1: mixed-precision Adam model states 2 + 2 + 12 bytes/param",
                 note="a checkpoint saves weights and optimizer states, not gradients: 14 B/param"),
        Equation(_delta, s.checkpoint_bytes / s.storage_write_bandwidth, cite="daly2006checkpoint",
                 locator="delta: the time to write one restart dump"),
        Equation(s.young_checkpoint_interval, _young, cite="young1974checkpoint",
                 locator="first-order optimum: sqrt(2 x checkpoint save time x mean time to "
                         "failure)"),
        Equation(s.daly_checkpoint_interval,
                 sympy.Piecewise((_young * (1 + sympy.sqrt(_xi) / 3 + _xi / 9) - _delta,
                                  _delta < 2 * _M), (_M, True)),
                 cite="daly2006checkpoint", locator="eq. (37): higher-order optimum interval"),
        Equation(s.checkpoint_overhead_fraction, _delta / _tau, cite="young1974checkpoint",
                 locator="checkpoint time per interval of compute"),
        Equation(s.rework_fraction, (_tau + _delta) / (2 * _M) + _R / _M,
                 cite="daly2006checkpoint",
                 locator="first-order model: per failure, rework (tau + delta)/2 on average "
                         "and restart R; one failure per M"),
        Equation(s.checkpoint_waste_fraction, s.checkpoint_overhead_fraction + s.rework_fraction,
                 cite="daly2006checkpoint",
                 locator="first-order cost function (its minimiser is Young's interval)"),
        Equation(s.checkpoint_goodput,
                 _tau / (2 * _M * sympy.exp(_R / _M + _half) * sympy.sinh(_half)),
                 cite="daly2006checkpoint",
                 locator="complete model: T_w = M e^(R/M) (e^((tau+delta)/M) - 1) T_s/tau",
                 note="goodput = T_s / T_w; e^x - 1 is written 2 e^(x/2) sinh(x/2) (an identity) "
                      "so it stays accurate when (tau + delta) << M"),
    ),
    references=("young1974checkpoint", "daly2006checkpoint", "rajbhandari2020zero"),
)
