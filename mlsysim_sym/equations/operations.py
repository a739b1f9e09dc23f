"""Glue of the training task: the ZeRO stage as shard factors and collective passes, and the
goodput of a run from the failure or checkpoint wall.

The training-step record (:mod:`.training`) takes how much of each model state a device keeps
(f_w, f_g, f_o) and how often the data-parallel collectives run per step (n_ag, n_rs) as
inputs; the operations walls (15 failures, 19 checkpoints) each define a goodput of their own.
These equations connect them: they are built once, here, and the training task compiles them
once (``mlsysim_sym.tasks.training``), instead of branching in Python or building equations for
every request.

- ZeRO (Rajbhandari et al., Sec. 5, Fig. 1): stage 1 partitions the optimizer states over the
  data-parallel ranks (P_os), stage 2 also the gradients (P_os+g), stage 3 also the weights
  (P_os+g+p); each partitioned state keeps 1/(d c) of it per device (the distributed optimizer
  shards over the d x c data-parallel ranks of a context-parallel job, as Megatron-Core does).
  A device that keeps only a gradient shard must reduce-scatter every micro-batch's gradients
  (stages 2-3: m passes per step instead of one accumulated reduction); stage 3 gathers the
  weights for every micro-batch's forward and again for its backward (2m all-gathers; Sec. 7.2.2).
- Goodput: the run's goodput is the failure wall's (restarts only) or, when checkpoints are
  modelled, the checkpoint wall's; with no interval given, Daly's optimum interval is used.

References
----------
Rajbhandari, Rasley, Ruwase, He, "ZeRO: Memory Optimizations Toward Training Trillion Parameter
Models", SC20, Sec. 5 and 7.2. Daly, "A higher order estimate of the optimum checkpoint interval
for restart dumps", FGCS 22(3), 2006. Trivedi, "Probability and Statistics with Reliability,
Queuing, and Computer Science Applications", 2016.
"""

import sympy

from .. import symbols as s
from ..vocabulary import ZERO_STAGES  # noqa: F401  (the stages train() accepts, re-exported)
from . import checkpoint, fragility, training  # noqa: F401  (they register the references)
from .base import Equation

__all__ = ["ZERO", "ZERO_STAGES", "FAILURE_GOODPUT", "CHECKPOINT_GOODPUT", "DALY_INTERVAL",
           "GOODPUT"]

_Z = "rajbhandari2020zero"

_z, _m = s.zero_stage, s.micro_batches
_shard = 1 / (s.data_parallel * s.context_parallel)


def _from_stage(stage, partitioned, whole=1):
    """``partitioned`` from ZeRO stage ``stage`` on, ``whole`` below it."""
    return sympy.Piecewise((partitioned, _z >= stage), (whole, True))


#: shard factors and collective passes per step of each ZeRO stage
ZERO = (
    Equation(s.optimizer_shard_factor, _from_stage(1, _shard), cite=_Z,
             locator="Sec. 5.1, Fig. 1: P_os partitions the optimizer states over the N_d "
                     "data-parallel ranks (stages 1-3)",
             note="the ranks are d x c: context-parallel ranks hold the same weights"),
    Equation(s.gradient_shard_factor, _from_stage(2, _shard), cite=_Z,
             locator="Sec. 5.2, Fig. 1: P_os+g also partitions the gradients (stages 2-3)"),
    Equation(s.parameter_shard_factor, _from_stage(3, _shard), cite=_Z,
             locator="Sec. 5.3, Fig. 1: P_os+g+p also partitions the parameters (stage 3)"),
    Equation(s.gradient_reduce_passes, _from_stage(2, _m), cite=_Z,
             locator="Sec. 5.2: each gradient is reduced to the rank that owns its partition "
                     "as the backward produces it",
             note="a device keeps no unsharded gradients to accumulate in, so every "
                  "micro-batch reduce-scatters (stages 0-1 accumulate and reduce once)"),
    Equation(s.parameter_gather_passes, _from_stage(3, 2 * _m), cite=_Z,
             locator="Sec. 7.2.2: the parameters are gathered for the forward and again for "
                     "the backward",
             note="of every micro-batch (only a shard is kept between them); stages 0-2 "
                  "gather the updated weights once, the second half of the all-reduce"),
)

#: the run's goodput is the failure wall's (wall 15: restarts, no checkpoint cost modelled)
FAILURE_GOODPUT = Equation(s.training_goodput, s.failure_goodput, cite="trivedi2016reliability",
                           locator="goodput of the run = the failure wall's goodput")
#: ... or the checkpoint wall's (wall 19: checkpoint writes and the rework after a failure)
CHECKPOINT_GOODPUT = Equation(s.training_goodput, s.checkpoint_goodput,
                              cite="trivedi2016reliability",
                              locator="goodput of the run = the failure wall's goodput")
#: a checkpointed run with no interval given checkpoints at Daly's optimum
DALY_INTERVAL = Equation(s.checkpoint_interval, s.daly_checkpoint_interval,
                         cite="daly2006checkpoint", locator="eq. (37): optimum interval")
#: goodput model -> the glue equations it needs
GOODPUT = {"none": (), "fragility": (FAILURE_GOODPUT,), "checkpoint": (CHECKPOINT_GOODPUT,)}
