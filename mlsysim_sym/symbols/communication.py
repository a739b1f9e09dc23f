"""Symbols of wall 14 (Communication): alpha-beta costs of collectives.

Conventions: a bandwidth is per direction, per rank (full-duplex links: a rank sends and receives
at B at once); ``link_bandwidth`` (declared by wall 10, Locality) is the scale-out port of one
rank, ``scale_up_bandwidth`` its intra-node (NVLink-class) bandwidth. ``message_bytes`` is the
whole buffer of one rank (nccl-tests' S): the all-reduce vector, the reduce-scatter input, the
all-gather output, the all-to-all send buffer (including the block a rank keeps).
"""

from .base import declare
from .locality import link_bandwidth  # noqa: F401  (re-exported: the fabric gives it)

message_bytes = declare(
    "message_bytes", "MB", r"M",
    "bytes of one rank's collective buffer (all-reduce vector, reduce-scatter input, all-gather "
    "output, all-to-all send buffer, point-to-point message)", (1e-9, 1e9))
collective_ranks = declare("collective_ranks", "dimensionless", r"N",
                           "ranks (devices) taking part in the collective", (2, 1e6), integer=True)
link_latency = declare("link_latency", "us", r"\alpha",
                       "start-up latency of one message between two ranks over the fabric "
                       "(alpha of the alpha-beta model)", (1e-3, 1e4))
devices_per_node = declare("devices_per_node", "dimensionless", r"g",
                           "accelerators per node (sharing the scale-up domain)", (1, 1024),
                           integer=True)
scale_up_bandwidth = declare("scale_up_bandwidth", "GB/s", r"B_{\mathrm{up}}",
                             "intra-node (NVLink / ICI / Infinity Fabric) bandwidth of one "
                             "device, per direction", (1e-3, 1e5))
scale_up_latency = declare("scale_up_latency", "us", r"\alpha_{\mathrm{up}}",
                           "start-up latency of one intra-node message", (1e-3, 1e4))
try:  # wall 3 (Software) owns the achieved-fraction factors if it declares this one
    from .software import communication_efficiency
except ImportError:
    communication_efficiency = declare(
        "communication_efficiency", "dimensionless", r"\eta_{\mathrm{comm}}",
        "achieved fraction of the link bandwidth in a collective (protocol, chunking, "
        "congestion; empirical)", (1e-3, 1.0))

_TIME = (0, 1e12)
allreduce_time_ring = declare("allreduce_time_ring", "ms", r"T_{\mathrm{AR}}^{\mathrm{ring}}",
                              "ring all-reduce time (reduce-scatter + all-gather)", _TIME)
allreduce_time_tree = declare("allreduce_time_tree", "ms", r"T_{\mathrm{AR}}^{\mathrm{tree}}",
                              "double-binary-tree all-reduce time (pipelined, large message)",
                              _TIME)
allreduce_time_hierarchical = declare(
    "allreduce_time_hierarchical", "ms", r"T_{\mathrm{AR}}^{\mathrm{hier}}",
    "hierarchical all-reduce time: intra-node reduce-scatter, inter-node ring all-reduce of M/g, "
    "intra-node all-gather", _TIME)
reduce_scatter_time = declare("reduce_scatter_time", "ms", r"T_{\mathrm{RS}}",
                              "ring reduce-scatter time", _TIME)
all_gather_time = declare("all_gather_time", "ms", r"T_{\mathrm{AG}}", "ring all-gather time",
                          _TIME)
all_to_all_time = declare("all_to_all_time", "ms", r"T_{\mathrm{A2A}}",
                          "pairwise-exchange all-to-all time", _TIME)
p2p_time = declare("p2p_time", "ms", r"T_{\mathrm{p2p}}",
                   "point-to-point send time of one message", _TIME)
allreduce_bus_bandwidth = declare(
    "allreduce_bus_bandwidth", "GB/s", r"B_{\mathrm{bus}}",
    "bus bandwidth of a ring all-reduce (nccl-tests: algorithm bandwidth M/T x 2(N-1)/N); "
    "grows with the message size towards B eta", (0, 1e6))
half_bandwidth_message = declare(
    "half_bandwidth_message", "MB", r"M_{1/2}",
    "message size at which a ring all-reduce reaches half its large-message bus bandwidth "
    "(Hockney's n_1/2 = start-up time x asymptotic rate)", (0, 1e9))
scale_up_peer_access = declare(
    "scale_up_peer_access", "dimensionless", r"p_{\mathrm{peer}}",
    "1 when every device of the scale-up domain can load and store its peers' memory (an "
    "NVSwitch, a full mesh of NVLink or Infinity Fabric links), so serving engines reduce small "
    "tensors with one-shot / two-shot peer-memory kernels; 0 otherwise (NCCL/RCCL/HCCL ring)",
    (0, 1), integer=True)
allreduce_fixed_time = declare(
    "allreduce_fixed_time", "us", r"T_{\mathrm{AR}}^{0}",
    "fixed cost of one all-reduce call of a serving engine's tensor-parallel step, whatever its "
    "size and algorithm: the kernel launch and the cross-device synchronisation (flags / "
    "barrier) before data moves; alpha per message step comes on top", (0, 1e4))
allreduce_time_one_shot = declare(
    "allreduce_time_one_shot", "ms", r"T_{\mathrm{AR}}^{\mathrm{1shot}}",
    "one-shot peer-memory all-reduce time: one synchronisation, each rank reads the whole buffer "
    "of every peer", _TIME)
allreduce_time_two_shot = declare(
    "allreduce_time_two_shot", "ms", r"T_{\mathrm{AR}}^{\mathrm{2shot}}",
    "two-shot peer-memory all-reduce time: reduce-scatter then all-gather through peer memory, "
    "two synchronisations", _TIME)
allreduce_time_serving = declare(
    "allreduce_time_serving", "ms", r"T_{\mathrm{AR}}^{\mathrm{serve}}",
    "all-reduce time of a serving engine's tensor-parallel step: the fastest of ring, one-shot "
    "and two-shot with peer access, the ring without", _TIME)
