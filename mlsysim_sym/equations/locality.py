"""Wall 10 - Locality: the bisection bandwidth of the network and what it leaves per endpoint.

Bounds: traffic between the two halves of a machine must cross its minimum bisection. Here a
bisection bandwidth is the capacity from one half to the other in one direction, and a link
bandwidth b is per direction.

- Fat tree / folded Clos (Leiserson 1985; Al-Fares et al. 2008): full bisection is N/2 x b;
  an edge oversubscription sigma (downlink : uplink capacity of the first switch tier) divides it.
- Rail-optimized (Wang et al. 2023): server i's NIC r attaches to rail r; each rail is a fat tree
  over the N servers, so the rails add: R x N/2 x b / sigma.
- k-ary n-cube torus, even k (Dally & Towles 2004, Ch. 5): a cut across one dimension severs
  each of the k^{n-1} rings twice (wraparound), 2 k^{n-1} links, so 2 k^{n-1} b per direction
  (D&T count both directions: B_C = 4 k^{n-1} channels).
- Dragonfly (Kim et al. 2008, Sec. 3.1): g groups of a routers, h global links per router, the
  a h global links of a group spread evenly over the g - 1 other groups; splitting the groups in
  halves cuts floor(g/2) ceil(g/2) group pairs of a h / (g - 1) links each. The global links
  are the minimum bisection of a balanced dragonfly (a = 2p = 2h).

Uniform all-to-all: each endpoint sends half its traffic to the other half, so N/2 senders x
x/2 <= B gives x <= 4 B / N (Dally & Towles Sec. 3.3.1, Theta <= 2 B_B / N with B_B counted in
both directions); an oversubscribed edge tier also caps each endpoint at B_inj / sigma (Al-Fares
et al. Sec. 2: at sigma:1 only 1/sigma of host bandwidth is available). The per-endpoint
rate is the smaller of the two.

Regime of validity: ideal (load-balanced) routing and uniform traffic; adversarial patterns,
minimal routing on a dragonfly, and congestion make it lower. Several topologies are given as
separate equations; ``bisection_bandwidth`` is the one in use: pass it, or add
``select("torus")`` (etc.) to a System to bind it to a topology.

References
----------
Leiserson, "Fat-Trees: Universal Networks for Hardware-Efficient Supercomputing", IEEE TC 1985.
Al-Fares, Loukissas, Vahdat, "A Scalable, Commodity Data Center Network Architecture", SIGCOMM 2008.
Dally, Towles, "Principles and Practices of Interconnection Networks", Morgan Kaufmann, 2004.
Kim, Dally, Scott, Abts, "Technology-Driven, Highly-Scalable Dragonfly Topology", ISCA 2008.
Wang, Ghobadi, Shakeri, Zhang, Hasani, "Rail-only: A Low-Cost High-Performance Network for
Training LLMs with Trillion Parameters", arXiv:2307.12169, 2023.
"""

import sympy

from .. import symbols as s
from .base import Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("leiserson1985fattrees", "Leiserson, Charles E.",
              "Fat-Trees: Universal Networks for Hardware-Efficient Supercomputing",
              "IEEE Transactions on Computers C-34(10)", 1985, doi="10.1109/TC.1985.6312192"),
    Reference("alfares2008datacenter", "Al-Fares, Mohammad and Loukissas, Alexander and Vahdat, Amin",
              "A Scalable, Commodity Data Center Network Architecture", "Proceedings of ACM SIGCOMM 2008",
              2008, doi="10.1145/1402958.1402967", kind="inproceedings"),
    Reference("dally2004interconnection", "Dally, William J. and Towles, Brian",
              "Principles and Practices of Interconnection Networks", "Morgan Kaufmann", 2004,
              url="https://www.sciencedirect.com/book/9780122007514", kind="book"),
    Reference("kim2008dragonfly", "Kim, John and Dally, William J. and Scott, Steve and Abts, Dennis",
              "Technology-Driven, Highly-Scalable Dragonfly Topology",
              "Proceedings of ISCA 2008", 2008, doi="10.1109/ISCA.2008.19", kind="inproceedings"),
    Reference("wang2023railonly", "Wang, Weiyang and Ghobadi, Manya and Shakeri, Kayvon and "
              "Zhang, Ying and Hasani, Naader",
              "Rail-only: A Low-Cost High-Performance Network for Training LLMs with Trillion "
              "Parameters", "arXiv:2307.12169", 2023, url="https://arxiv.org/abs/2307.12169",
              kind="misc"),
)

_half = s.network_endpoints / 2
_groups = s.dragonfly_groups

TOPOLOGIES = {
    "fat_tree": Equation(s.bisection_bandwidth_fat_tree,
                         _half * s.link_bandwidth / s.oversubscription,
                         cite="alfares2008datacenter",
                         locator="Sec. 2 (background): oversubscription ratio; Sec. 3: k-ary fat "
                                 "tree at full bisection (Leiserson 1985)"),
    "rail_optimized": Equation(s.bisection_bandwidth_rail_optimized,
                               s.network_rails * _half * s.link_bandwidth / s.oversubscription,
                               cite="wang2023railonly",
                               locator="Sec. 2: rail-optimized network, NIC r of every server "
                                       "on rail r",
                               note="network_endpoints counts servers; each rail is a fat tree"),
    "torus": Equation(s.bisection_bandwidth_torus,
                      2 * s.torus_radix ** (s.torus_dimensions - 1) * s.link_bandwidth,
                      cite="dally2004interconnection",
                      locator="Ch. 5 (tori): channel bisection B_C = 4 k^(n-1) for even k",
                      note="one direction: half of D&T's B_C; network_endpoints = k^n"),
    "dragonfly": Equation(s.bisection_bandwidth_dragonfly,
                          sympy.floor(_groups / 2) * sympy.ceiling(_groups / 2)
                          * s.dragonfly_routers_per_group * s.dragonfly_global_links_per_router
                          / (_groups - 1) * s.link_bandwidth,
                          cite="kim2008dragonfly",
                          locator="Sec. 3.1: a h global channels per group, up to a h + 1 groups "
                                  "one global channel apart",
                          note="derived: the global links cut by an even split of the groups"),
}


def select(topology: str) -> Equation:
    """Equation binding ``bisection_bandwidth`` to one topology's (fat_tree, rail_optimized,
    torus or dragonfly); add it to a System built from this wall's equations."""
    try:
        eq = TOPOLOGIES[topology]
    except KeyError:
        raise KeyError(f"unknown topology {topology!r}; choose from {', '.join(TOPOLOGIES)}") from None
    return Equation(s.bisection_bandwidth, eq.lhs, cite=eq.cite, locator=eq.locator)


WALL = Wall(
    number=10,
    name="Locality",
    domain="data",
    summary=(
        "Traffic between the two halves of a cluster must cross its bisection, whose bandwidth "
        "depends on the topology (fat tree, rail-optimized, torus, dragonfly) and on how much its "
        "edge is oversubscribed. Under all-to-all traffic each endpoint gets the smaller of its "
        "tapered injection bandwidth and its share of the bisection."
    ),
    regime="Uniform traffic with ideal load-balanced routing; bisection counted in one direction; "
           "even torus radix; balanced dragonfly whose global links form the minimum bisection.",
    equations=tuple(TOPOLOGIES.values()) + (
        Equation(s.all_to_all_bandwidth_per_endpoint,
                 sympy.Min(s.endpoint_injection_bandwidth / s.oversubscription,
                           4 * s.bisection_bandwidth / s.network_endpoints),
                 cite="dally2004interconnection",
                 locator="Sec. 3.3.1: uniform-traffic throughput bound Theta <= 2 B_B / N",
                 note="B_B of D&T is both directions (= 2 x bisection_bandwidth here); the "
                      "injection / sigma term is the edge-tier cap of Al-Fares et al. Sec. 2"),
    ),
    references=("leiserson1985fattrees", "alfares2008datacenter", "dally2004interconnection",
                "kim2008dragonfly", "wang2023railonly"),
)
