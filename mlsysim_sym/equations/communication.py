"""Wall 14 - Communication: alpha-beta cost of the collectives of distributed training.

Bounds: a collective over N ranks costs start-up latencies (alpha per message step) plus bytes
over the per-direction bandwidth B of each rank's link (beta = 1/B), in the alpha-beta
(Hockney) model of Thakur, Rabenseifner & Gropp (2005). M is one rank's whole buffer (the
``S`` of nccl-tests), and every bandwidth term is divided by the achieved fraction eta:

- ring reduce-scatter and all-gather: (N-1) steps of M/N each: (N-1) alpha + (N-1)/N M/B;
- ring all-reduce = reduce-scatter + all-gather: 2 (N-1) alpha + 2 (N-1)/N M/B, which meets the
  bandwidth lower bound of any all-reduce (Patarasuk & Yuan 2009);
- double binary tree (NCCL's tree; Sanders, Speck & Traeff 2009): every rank is an interior node
  of one tree and a leaf of the other, so reduce and broadcast each move M at full bandwidth
  (beta M each) while a pipelined chunk climbs and descends log2 N levels. We encode the
  large-message pipelined limit 2 log2(N) alpha + 2 M/B; the pipeline-fill term
  O(sqrt(alpha beta M log N)) is dropped, and the bandwidth term is N/(N-1) above the ring's;
- hierarchical (2D) all-reduce (Mikami et al. 2018): reduce-scatter inside each node of g
  devices over the scale-up links, ring all-reduce of the node's M/g shard across the n = N/g
  nodes (each device on its own NIC, in parallel: rail-style), all-gather inside the node;
- all-to-all, pairwise exchange (Thakur et al.: (p-1) alpha + n beta, n the bytes a rank sends
  to the others): with M the whole send buffer a rank keeps M/N, so n = (N-1)/N M;
- point to point: alpha + M/B;
- one-shot peer-memory all-reduce (vLLM ``cross_device_reduce_1stage``, TensorRT-LLM ONESHOT):
  after one synchronisation every rank reads the whole M-byte buffer of each of its N-1 peers
  through peer memory and reduces locally: alpha + (N-1) M/B. B is the rank's aggregate
  scale-up bandwidth: on a switch (NVSwitch) the N-1 reads share the rank's port; on a full mesh
  of point-to-point links (8 x MI300X Infinity Fabric) each peer has its own link of B/(N-1)
  and the reads run in parallel, the same (N-1) M/B;
- two-shot peer-memory all-reduce (vLLM ``cross_device_reduce_2stage``, TensorRT-LLM TWOSHOT):
  a reduce-scatter and an all-gather, each reading (N-1)/N M through peer memory with one
  synchronisation each: 2 alpha + 2 (N-1)/N M/B (the ring's bandwidth term with two start-ups
  instead of 2 (N-1)). One-shot wins below M_x(2-shot) = alpha B N / ((N-1)(N-2)), and beats the
  ring below M_x = (2N-3) alpha B N / ((N-1)(N-2)) (eta folded into B).
  A serving engine picks among them by size (vLLM: one-shot below 512 KB at N <= 4 and 256 KB
  at N <= 8, two-shot up to its 8 MB buffer, NCCL above; TensorRT-LLM from a tuned table), which
  we encode as the fastest of the three (``allreduce_time_serving``), only where the scale-up
  fabric gives peer access (vLLM disables its kernels for more than two GPUs that are not fully
  connected by NVLink/xGMI: then NCCL's ring). Every serving all-reduce call also pays a
  fixed T_AR^0: the launch and the cross-device flag synchronisation, 8.5-10 us for a
  0.5-32 KB buffer on H100 (SGLang PR 2904's table of vLLM's kernel), where the bytes take
  well under 1 us; alpha is then the link's per-step latency.

Regime of validity: homogeneous ranks, full-duplex links, no contention beyond one rank's link
(a fat tree at full bisection: see wall 10 for tapering), large enough messages for the
pipelined tree limit, N a multiple of g for the hierarchical form; reduction arithmetic is
neglected (gamma = 0). The peer-memory algorithms need load/store access to every peer's
memory inside one scale-up domain (NVSwitch, NVLink or Infinity Fabric full mesh: the fabric's
``peer_access``), N up to the domain (vLLM: 2, 4, 6 or 8 GPUs on one node); their alpha is one
cross-device flag handshake, taken equal to the fabric's per-step latency. Which algorithm a
library picks for training is the user's (or the solver's) choice:
each has its own output.

References
----------
Thakur, Rabenseifner, Gropp, "Optimization of Collective Communication Operations in MPICH",
IJHPCA 19(1), 2005.
Patarasuk, Yuan, "Bandwidth Optimal All-reduce Algorithms for Clusters of Workstations", JPDC
69(2), 2009.
Sanders, Speck, Traeff, "Two-tree algorithms for full bandwidth broadcast, reduction and scan",
Parallel Computing 35(12), 2009.
Mikami et al., "Massively Distributed SGD: ImageNet/ResNet-50 Training in a Flash",
arXiv:1811.05233, 2018.
NVIDIA, nccl-tests ``doc/PERFORMANCE.md`` (bus-bandwidth factors).
vLLM, ``csrc/custom_all_reduce.cuh`` and ``vllm/distributed/device_communicators/
custom_all_reduce.py`` (one-shot / two-shot peer-memory all-reduce and their selection).
NVIDIA TensorRT-LLM, ``cpp/tensorrt_llm/kernels/customAllReduceKernels.cu`` (ONESHOT / TWOSHOT).
Hockney, "The communication challenge for MPP: Intel Paragon and Meiko CS-2", Parallel
Computing 20(3), 1994 (r_inf and n_1/2: the achieved bandwidth r_inf n / (n + n_1/2) of the
alpha-beta model saturates with the message size).

The achieved fraction eta is the large-message bus bandwidth over the link rate. Where the
registry fabric publishes it (``collective_efficiency``: NCCL measurements) and its per-step
latency, ``train()`` uses them; small messages are then latency-bound by the same equations
(bus bandwidth B eta M / (M + M_1/2)), not by a smaller eta.
"""

import sympy

from .. import symbols as s
from .base import Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("thakur2005mpich", "Thakur, Rajeev and Rabenseifner, Rolf and Gropp, William",
              "Optimization of Collective Communication Operations in MPICH",
              "International Journal of High Performance Computing Applications 19(1)", 2005,
              doi="10.1177/1094342005051521"),
    Reference("patarasuk2009allreduce", "Patarasuk, Pitch and Yuan, Xin",
              "Bandwidth Optimal All-reduce Algorithms for Clusters of Workstations",
              "Journal of Parallel and Distributed Computing 69(2)", 2009,
              doi="10.1016/j.jpdc.2008.09.002"),
    Reference("sanders2009twotree",
              "Sanders, Peter and Speck, Jochen and Tr{\\\"a}ff, Jesper Larsson",
              "Two-tree algorithms for full bandwidth broadcast, reduction and scan",
              "Parallel Computing 35(12)", 2009, doi="10.1016/j.parco.2009.09.001"),
    Reference("mikami2018flash", "Mikami, Hiroaki and Suganuma, Hisahiro and U-chupala, Pongsakorn "
              "and Tanaka, Yoshiki and Kageyama, Yuichi",
              "Massively Distributed SGD: ImageNet/ResNet-50 Training in a Flash",
              "arXiv:1811.05233", 2018, url="https://arxiv.org/abs/1811.05233", kind="misc"),
    Reference("hockney1994challenge", "Hockney, Roger W.",
              "The communication challenge for MPP: Intel Paragon and Meiko CS-2",
              "Parallel Computing 20(3)", 1994, doi="10.1016/0167-8191(94)90027-2"),
    Reference("nvidia2024nccltests", "NVIDIA", "NCCL Tests: Performance reported by NCCL tests "
              "(doc/PERFORMANCE.md)", "GitHub repository NVIDIA/nccl-tests", 2024,
              url="https://github.com/NVIDIA/nccl-tests/blob/master/doc/PERFORMANCE.md",
              kind="misc"),
    Reference("vllm2024customallreduce", "vLLM Team",
              "Custom all-reduce: csrc/custom_all_reduce.cuh (cross_device_reduce_1stage / "
              "_2stage and their selection by size) and vllm/distributed/device_communicators/"
              "custom_all_reduce.py (should_custom_ar)", "GitHub repository vllm-project/vllm",
              2024, url="https://github.com/vllm-project/vllm/blob/main/csrc/"
                        "custom_all_reduce.cuh", kind="misc"),
    Reference("nvidia2024trtllmallreduce", "NVIDIA",
              "TensorRT-LLM custom all-reduce kernels: cpp/tensorrt_llm/kernels/"
              "customAllReduceKernels.cu (ONESHOT and TWOSHOT strategies)",
              "GitHub repository NVIDIA/TensorRT-LLM", 2024,
              url="https://github.com/NVIDIA/TensorRT-LLM/blob/main/cpp/tensorrt_llm/kernels/"
                  "customAllReduceKernels.cu", kind="misc"),
    Reference("sglang2025customallreduce", "SGLang Team",
              "Optimize custom allreduce kernel (pull request 2904): unit-test latencies of "
              "vLLM's and TensorRT-LLM's custom all-reduce on H100 at TP 2/4/8, 512 B to 1 MB "
              "(without CUDA graph)", "GitHub repository sgl-project/sglang", 2025,
              url="https://github.com/sgl-project/sglang/pull/2904", kind="misc"),
)

_N, _M, _eta = s.collective_ranks, s.message_bytes, s.communication_efficiency


def ring_reduce_scatter(size, ranks, bandwidth, latency, efficiency=None):
    """(ranks - 1) latency + (ranks - 1)/ranks x size / (bandwidth x eta) (= ring all-gather).

    ``efficiency`` is the achieved fraction of ``bandwidth`` (default: this wall's eta).
    """
    eta = _eta if efficiency is None else efficiency
    return (ranks - 1) * latency + (ranks - 1) / ranks * size / (bandwidth * eta)


def ring_allreduce(size, ranks, bandwidth, latency, efficiency=None):
    """Reduce-scatter then all-gather: 2 (ranks - 1) latency + 2 (ranks - 1)/ranks x size / B."""
    return 2 * ring_reduce_scatter(size, ranks, bandwidth, latency, efficiency)


def one_shot_allreduce(size, ranks, bandwidth, latency, efficiency=None):
    """One synchronisation, then each rank reads all ``ranks - 1`` peers' whole buffers:
    latency + (ranks - 1) x size / (bandwidth x eta) (vLLM ``cross_device_reduce_1stage``)."""
    eta = _eta if efficiency is None else efficiency
    return latency + (ranks - 1) * size / (bandwidth * eta)


def two_shot_allreduce(size, ranks, bandwidth, latency, efficiency=None):
    """Reduce-scatter then all-gather through peer memory, one synchronisation each:
    2 latency + 2 (ranks - 1)/ranks x size / (bandwidth x eta) (``cross_device_reduce_2stage``)."""
    eta = _eta if efficiency is None else efficiency
    return 2 * latency + 2 * (ranks - 1) / ranks * size / (bandwidth * eta)


def serving_allreduce(size, ranks, bandwidth, latency, peer_access, efficiency=None, fixed=0):
    """The all-reduce a serving engine runs: a fixed cost per call (``fixed``: the launch and
    the cross-device synchronisation, on more than one rank) plus, with peer access
    (``peer_access`` = 1), the fastest of ring, one-shot and two-shot, else (0) the ring.
    Two-shot is never slower than the ring at ranks >= 2 (2 latencies instead of 2 (ranks - 1),
    the same bytes), so the fastest is Min(one-shot, two-shot), their synchronisations
    vanishing at ranks = 1 as the ring does."""
    ring = ring_allreduce(size, ranks, bandwidth, latency, efficiency)
    one = sympy.Min(1, ranks - 1)   # no call, hence no synchronisation, on one device
    sync = one * latency
    fastest = sympy.Min(one_shot_allreduce(size, ranks, bandwidth, sync, efficiency),
                        two_shot_allreduce(size, ranks, bandwidth, sync, efficiency))
    return one * fixed + peer_access * fastest + (1 - peer_access) * ring


def one_shot_crossover(ranks, bandwidth, latency, efficiency=None):
    """Buffer size where ring and one-shot all-reduce take equal times:
    (2N - 3) alpha B eta N / ((N - 1)(N - 2)) (N > 2; at N = 2 one-shot always wins)."""
    eta = _eta if efficiency is None else efficiency
    return (2 * ranks - 3) * latency * bandwidth * eta * ranks / ((ranks - 1) * (ranks - 2))


_g = s.devices_per_node
_node_count = _N / _g

WALL = Wall(
    number=14,
    name="Communication",
    domain="fleet",
    summary=(
        "Data-, tensor- and expert-parallel training synchronise through collectives whose cost "
        "is a latency per message step plus the bytes each rank must move over its link. Ring "
        "algorithms are bandwidth-optimal but pay 2(N-1) latencies; trees pay only 2 log2 N; "
        "hierarchical all-reduce keeps most bytes on the fast intra-node links; all-to-all "
        "(expert parallelism) moves (N-1)/N of every rank's buffer. Inside one scale-up domain "
        "with peer memory access, serving engines reduce small tensors in one step (one-shot: "
        "every rank reads all peers' buffers) or two (two-shot), paying one or two latencies."
    ),
    regime="Alpha-beta model: homogeneous ranks, full-duplex per-direction link bandwidth, no "
           "contention beyond a rank's own link, reduction arithmetic neglected; pipelined "
           "large-message limit for the tree; N a multiple of devices_per_node for the "
           "hierarchical form; one-shot and two-shot only where every rank loads and stores "
           "its peers' memory (NVSwitch, NVLink or Infinity Fabric full mesh) within one node.",
    equations=(
        Equation(s.allreduce_time_ring, ring_allreduce(_M, _N, s.link_bandwidth, s.link_latency),
                 cite="patarasuk2009allreduce",
                 locator="ring all-reduce: 2(p-1) alpha + 2 (p-1)/p n beta, meeting the "
                         "all-reduce bandwidth lower bound"),
        Equation(s.allreduce_time_tree,
                 2 * sympy.log(_N, 2) * s.link_latency + 2 * _M / (s.link_bandwidth * _eta),
                 cite="sanders2009twotree",
                 locator="two-tree broadcast and reduction: each beta m + "
                         "O(alpha log p + sqrt(alpha beta m log p))",
                 note="all-reduce = reduction + broadcast, pipelined; the sqrt pipeline-fill "
                      "term is dropped (large-message limit), as NCCL's double binary tree"),
        Equation(s.allreduce_time_hierarchical,
                 2 * ring_reduce_scatter(_M, _g, s.scale_up_bandwidth, s.scale_up_latency)
                 + ring_allreduce(_M / _g, _node_count, s.link_bandwidth, s.link_latency),
                 cite="mikami2018flash",
                 locator="2D-Torus all-reduce: reduce-scatter within a group, all-reduce "
                         "across groups, all-gather within the group",
                 note="intra-node legs on scale-up links; each device's NIC carries its own "
                      "M/g shard across the N/g nodes"),
        Equation(s.reduce_scatter_time,
                 ring_reduce_scatter(_M, _N, s.link_bandwidth, s.link_latency),
                 cite="thakur2005mpich",
                 locator="reduce-scatter, pairwise exchange: (p-1) alpha + (p-1)/p n beta",
                 note="reduction cost gamma neglected"),
        Equation(s.all_gather_time, ring_reduce_scatter(_M, _N, s.link_bandwidth, s.link_latency),
                 cite="thakur2005mpich",
                 locator="allgather, ring algorithm: (p-1) alpha + (p-1)/p n beta"),
        Equation(s.all_to_all_time,
                 ring_reduce_scatter(_M, _N, s.link_bandwidth, s.link_latency),
                 cite="thakur2005mpich",
                 locator="alltoall, pairwise exchange (long messages): (p-1) alpha + n beta",
                 note="Thakur's n is the bytes sent to other ranks = (N-1)/N of the buffer M"),
        Equation(s.p2p_time, s.link_latency + _M / (s.link_bandwidth * _eta),
                 cite="thakur2005mpich",
                 locator="cost model: a message of n bytes takes alpha + n beta"),
        Equation(s.allreduce_bus_bandwidth, 2 * (_N - 1) / _N * _M / s.allreduce_time_ring,
                 cite="nvidia2024nccltests",
                 locator="Bus bandwidth, AllReduce: busbw = algbw x 2(n-1)/n, algbw = S/t",
                 note="= B eta M / (M + M_1/2): the achieved bandwidth saturates with the "
                      "message size, latency-bound below M_1/2"),
        Equation(s.half_bandwidth_message, _N * s.link_latency * s.link_bandwidth * _eta,
                 cite="hockney1994challenge",
                 locator="t = (n + n_1/2) / r_inf: n_1/2 = r_inf t_0, the message length that "
                         "achieves half the asymptotic rate",
                 note="ring all-reduce: t_0 = 2(N-1) alpha, r_inf = B eta N / (2(N-1)) "
                      "(algorithm bandwidth), so n_1/2 = N alpha B eta"),
        Equation(s.allreduce_time_one_shot,
                 one_shot_allreduce(_M, _N, s.scale_up_bandwidth, s.scale_up_latency),
                 cite="vllm2024customallreduce",
                 locator="csrc/custom_all_reduce.cuh, cross_device_reduce_1stage: start_sync, "
                         "then each rank reduces packed_reduce over all ranks' buffers (ptrs), "
                         "end_sync",
                 note="alpha-beta form (Thakur et al. 2005): one synchronisation alpha, (N-1) M "
                      "bytes read over the rank's scale-up links (a switch port, or N-1 mesh "
                      "links of B/(N-1) each in parallel); TensorRT-LLM's ONESHOT is the same"),
        Equation(s.allreduce_time_two_shot,
                 two_shot_allreduce(_M, _N, s.scale_up_bandwidth, s.scale_up_latency),
                 cite="vllm2024customallreduce",
                 locator="csrc/custom_all_reduce.cuh, cross_device_reduce_2stage: reduce-scatter "
                         "of each rank's 1/N part from all peers, a barrier, all-gather of the "
                         "reduced parts",
                 note="Thakur et al. 2005's reduce-scatter + all-gather bandwidth term "
                      "2 (N-1)/N M beta with one synchronisation per phase; TensorRT-LLM TWOSHOT"),
        Equation(s.allreduce_time_serving,
                 serving_allreduce(_M, _N, s.scale_up_bandwidth, s.scale_up_latency,
                                   s.scale_up_peer_access, fixed=s.allreduce_fixed_time),
                 cite="vllm2024customallreduce",
                 locator="custom_all_reduce.cuh allreduce(): 1stage at world size 2, or with "
                         "full NVLink below 512 KB (<= 4 GPUs) / 256 KB (<= 8), else 2stage; "
                         "custom_all_reduce.py should_custom_ar: only below max_size (8 MB) and "
                         "when fully connected (or 2 GPUs)",
                 note="the engine's size thresholds are encoded as the fastest of the three "
                      "(Min); without peer access (p = 0) the ring of NCCL/RCCL/HCCL. Every "
                      "call pays T_AR^0 (launch + cross-device "
                      "synchronisation): vLLM's custom all-reduce takes 8.5-10 us on H100 at "
                      "TP 2-8 for 0.5-32 KB buffers (sglang2025customallreduce), where the "
                      "bytes take well under 1 us"),
    ),
    references=("thakur2005mpich", "patarasuk2009allreduce", "sanders2009twotree",
                "mikami2018flash", "hockney1994challenge", "nvidia2024nccltests",
                "vllm2024customallreduce", "nvidia2024trtllmallreduce",
                "sglang2025customallreduce"),
)
