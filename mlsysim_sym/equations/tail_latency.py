"""Wall 7 - Tail latency: how the p99 of a replicated service grows as its load nears capacity.

Bounds: requests arriving at rate lambda to c replicas, each serving one request in E[S] on
average, form an M/M/c queue (Poisson arrivals, exponential service, FCFS). With offered load
A = lambda E[S] and utilisation rho = A / c, an arrival waits with the Erlang-C probability

    P_Q = (A^c / c!) / ((A^c / c!) + (1 - rho) sum_{k<c} A^k / k!),

and, given that it waits, its wait is exponential at rate gamma = c mu - lambda = (c - A) mu,
so E[W_q] = P_Q / gamma and P(W_q > t) = P_Q e^{-gamma t}; the exact p-percentile of the wait is
w_p = max(0, ln(P_Q / (1 - p)) / gamma). The finite sum is written with the regularised upper
incomplete gamma function, sum_{k<c} A^k/k! = e^A Q(c, A), and both terms are scaled by e^{-A}
(a Poisson pmf and Q, each in [0, 1]): one vectorisable, overflow-free, dimension-checked
expression for any c.

Response time T = W_q + S, the request's own service S ~ Exp(mu), mu = 1/E[S], independent of
its FCFS wait: P(T > t) = e^{-mu t} + P_Q mu t e^{-min(gamma, mu) t} phi(|gamma - mu| t), with
phi(y) = (1 - e^{-y})/y (the exact hypoexponential mixture, written symmetrically so it neither
overflows nor cancels). Its percentile has no closed form; the wall states a rigorous bracket:
t_p >= max(w_p, s_p) (T exceeds both W_q and S) and t_p <= w_p' + s_p' with 1 - p' = (1 - p)/2
(union bound P(W+S > a+b) <= P(W > a) + P(S > b)), s_p = -ln(1 - p) E[S] the exponential
service percentile. The exact percentile is the root of P(T > t) = 1 - p (the inverse solver
finds it); the bracket is widest near rho ~ 0.8 and tight at light and heavy load.

For general arrivals and service, the Allen-Cunneen approximation scales the M/M/c wait by
(c_a^2 + c_s^2)/2; at c = 1 it is Kingman's heavy-traffic formula
E[W_q] ~ rho/(1 - rho) (c_a^2 + c_s^2)/2 E[S]. An unstable queue (rho >= 1) waits forever:
every delay is sympy.oo and every tail probability 1, never NaN or negative.

Regime of validity: steady state, FCFS, identical replicas behind one queue (one load
balancer, no per-replica queues), no abandonment; Allen-Cunneen is an approximation (exact for
M/M/c, asymptotically exact in heavy traffic, error grows at light load and for c_s >> 1).

References
----------
Kleinrock, "Queueing Systems, Volume 1: Theory", Wiley, 1975, Sec. 3.5 (M/M/m).
Harchol-Balter, "Performance Modeling and Design of Computer Systems", CUP, 2013, Ch. 14.
Kingman, "The single server queue in heavy traffic", Proc. Camb. Phil. Soc. 57(4), 1961.
Whitt, "Approximations for the GI/G/m queue", Production and Operations Management 2(2), 1993.
"""

import sympy
from sympy.codegen.cfunctions import expm1

from .. import symbols as s
from ..symbols.tail_latency import log_gamma, regularized_upper_gamma
from .base import Constraint, Equation, Wall
from .references import Reference, add_all


add_all(
    Reference("kleinrock1975queueing", "Kleinrock, Leonard", "Queueing Systems, Volume 1: Theory",
              "Wiley", 1975, url="https://www.wiley.com/en-us/Queueing+Systems%2C+Volume+1%3A+"
                                 "Theory-p-9780471491101", kind="book"),
    Reference("harcholbalter2013performance", "Harchol-Balter, Mor",
              "Performance Modeling and Design of Computer Systems: Queueing Theory in Action",
              "Cambridge University Press", 2013, doi="10.1017/CBO9781139226424", kind="book"),
    Reference("kingman1961", "Kingman, J. F. C.", "The single server queue in heavy traffic",
              "Mathematical Proceedings of the Cambridge Philosophical Society 57(4)", 1961,
              doi="10.1017/S0305004100036094"),
    Reference("whitt1993ggm", "Whitt, Ward", "Approximations for the GI/G/m queue",
              "Production and Operations Management 2(2)", 1993, doi="10.1111/j.1937-5956.1993.tb00094.x"),
)

_A, _c, _S, _p, _t = s.offered_load, s.servers, s.mean_service_time, s.latency_percentile, s.latency_target
_rho, _PQ, _gamma, _mu = s.server_utilization, s.waiting_probability, s.queue_decay_rate, s.service_rate
_stable = _rho < 1
_poisson_pmf = sympy.exp(_c * sympy.log(_A) - _A - log_gamma(_c + 1))  # e^-A A^c / c!
_y = sympy.Abs(_gamma - _mu) * _t
_phi = sympy.Piecewise((1, sympy.Eq(_y, 0)), (-expm1(-_y) / _y, True))  # (1 - e^-y) / y


def _wait_percentile(tail):
    """Exact time-in-queue percentile for tail probability ``tail`` (= 1 - p)."""
    return sympy.Max(0, sympy.log(_PQ / tail) / _gamma)


def _unstable(finite, value=sympy.oo):
    return sympy.Piecewise((finite, _stable), (value, True))


WALL = Wall(
    number=7,
    name="Tail latency",
    domain="node",
    summary=(
        "Replicas behind one queue see requests wait with the Erlang-C probability, and the "
        "wait of a delayed request is exponential at rate c mu - lambda, so the p99 grows like "
        "ln(100 P_Q) / (c mu - lambda): slowly at moderate load, without bound as utilisation "
        "reaches 1. Variable arrivals and service (Kingman, Allen-Cunneen) multiply the wait."
    ),
    regime="Steady-state M/M/c, FCFS, one queue for identical replicas, no abandonment; G/G/c "
           "by the Allen-Cunneen approximation; unstable (infinite delay) at utilisation >= 1.",
    equations=(
        Equation(_A, s.arrival_rate * _S / s.one_request, cite="kleinrock1975queueing",
                 locator="Sec. 3.5: offered load lambda / mu in Erlangs"),
        Equation(_rho, _A / _c, cite="kleinrock1975queueing",
                 locator="Sec. 3.5: rho = lambda / (m mu), stable iff rho < 1"),
        Equation(_PQ, _unstable(_poisson_pmf / (_poisson_pmf + (1 - _rho)
                                                * regularized_upper_gamma(_c, _A)), 1),
                 cite="kleinrock1975queueing",
                 locator="Sec. 3.5, Erlang's C formula (probability of queueing)",
                 note="sum_{k<c} A^k/k! = e^A Q(c, A); numerator and denominator scaled by "
                      "e^-A (1 - rho)"),
        Equation(_mu, 1 / _S, cite="harcholbalter2013performance",
                 locator="Ch. 14: service rate mu = 1 / E[S] of each server"),
        Equation(_gamma, sympy.Max(0, (_c - _A) * _mu), cite="harcholbalter2013performance",
                 locator="Ch. 14: given a delay, T_Q ~ Exp(k mu - lambda)",
                 note="0 (not negative) when unstable; every use is guarded by rho < 1"),
        Equation(s.mean_waiting_time, _unstable(_PQ / _gamma), cite="harcholbalter2013performance",
                 locator="Ch. 14: E[T_Q] = P_Q / (k mu - lambda)"),
        Equation(s.mean_response_time, s.mean_waiting_time + _S,
                 cite="harcholbalter2013performance", locator="Ch. 14: E[T] = E[T_Q] + 1/mu"),
        Equation(s.waiting_tail_probability, _unstable(_PQ * sympy.exp(-_gamma * _t), 1),
                 cite="harcholbalter2013performance",
                 locator="Ch. 14: P(T_Q > t) = P_Q e^{-(k mu - lambda) t}"),
        Equation(s.waiting_time_percentile, _unstable(_wait_percentile(1 - _p)),
                 cite="harcholbalter2013performance",
                 locator="Ch. 14: inverse of P(T_Q > t) = P_Q e^{-(k mu - lambda) t}"),
        Equation(s.service_time_percentile, -sympy.log(1 - _p) * _S,
                 cite="harcholbalter2013performance",
                 locator="Ch. 3: P(S > t) = e^{-mu t} for exponential service"),
        Equation(s.response_time_percentile_lower,
                 sympy.Max(s.waiting_time_percentile, s.service_time_percentile),
                 cite="harcholbalter2013performance",
                 locator="T = T_Q + S >= each term, so its percentile bounds both (ours)",
                 branches={s.waiting_time_percentile: "Tail latency",
                           s.service_time_percentile: "Serving"}),
        Equation(s.response_time_percentile_upper,
                 _unstable(_wait_percentile((1 - _p) / 2) - sympy.log((1 - _p) / 2) * _S),
                 cite="harcholbalter2013performance",
                 locator="union bound P(T_Q + S > a + b) <= P(T_Q > a) + P(S > b) (ours)"),
        Equation(s.response_tail_probability,
                 _unstable(sympy.exp(-_mu * _t) + _PQ * _mu * _t
                           * sympy.exp(-sympy.Min(_gamma, _mu) * _t) * _phi, 1),
                 cite="harcholbalter2013performance",
                 locator="Ch. 14: T = T_Q + S, T_Q ~ (1 - P_Q) delta_0 + P_Q Exp(k mu - lambda) "
                         "independent of S ~ Exp(mu) under FCFS",
                 note="hypoexponential convolution, written symmetrically in the two rates"),
        Equation(s.gg_mean_waiting_time,
                 _unstable(s.mean_waiting_time * (s.arrival_cv ** 2 + s.service_cv ** 2) / 2),
                 cite="whitt1993ggm",
                 locator="Sec. 2: E[W](GI/G/m) ~ (c_a^2 + c_s^2)/2 E[W](M/M/m) (Allen-Cunneen); "
                         "at m = 1 Kingman (1961)"),
    ),
    constraints=(
        Constraint("queue_stable", _rho, sympy.Integer(1), cite="kleinrock1975queueing",
                   kind="stability", locator="Sec. 3.5: M/M/m is ergodic iff lambda < m mu"),
    ),
    references=("kleinrock1975queueing", "harcholbalter2013performance", "kingman1961",
                "whitt1993ggm"),
)
