"""The Iron Law of ML training as one composed equation.

``T = C / (N R_peak eta_MFU eta_scaling G)``: the training time of a run is its model FLOPs over
the devices' peak rate derated by the MFU they reach while computing (wall 3), the scaling
efficiency of the step (bubble and exposed communication; the training-step record and wall 14)
and the goodput (walls 15 and 19), each factor expanded from its walls. It sits at the system
layer (symbols, equations, system) so ``System.iron_law()`` needs nothing above it.
"""

from __future__ import annotations

from ..system import System

__all__ = ["IronLaw", "iron_law"]


class IronLaw:
    """T = C / (N R_peak eta_MFU eta_scaling G), each factor a closed form of its walls.

    Attributes
    ----------
    lhs : sympy.Symbol
        ``job_duration`` (wall-clock time of the run).
    rhs : sympy.Expr
        ``C / (N R_peak eta_mfu eta_scaling G)`` in the factors' symbols.
    factors : dict
        ``{"C": ..., "N": ..., "R_peak": ..., "eta_mfu": ..., "eta_scaling": ..., "G": ...}``,
        each expanded from the system's equations (inputs when the system leaves them free),
        constants at their base-unit values (evaluate with base-unit inputs, as compiled).
    latex : str
    """

    def __init__(self, lhs, rhs, factors, latex):
        self.lhs, self.rhs, self.factors, self.latex = lhs, rhs, factors, latex

    @property
    def equation(self):
        import sympy
        return sympy.Eq(self.lhs, self.rhs)

    def __repr__(self):
        return f"IronLaw({self.lhs} = {self.rhs})"


def iron_law(system=None) -> IronLaw:
    """The composed training-time equation of ``system`` (default: the full-training system).

    ``T = C / (N R_peak eta_MFU eta_scaling G)`` with C = model FLOPs per token x D tokens,
    N devices, R_peak the peak per device, eta_MFU = a step's model FLOPs / (N R_peak x its
    compute time) (the MFU the devices reach while computing; wall 3; compute efficiency x model /
    hardware FLOPs when every FLOP runs at that one rate), eta_scaling = compute time / step time
    (bubble, exposed communication, optimizer; this record) and G the goodput (walls 15/19, or an
    input). The identity T = D / throughput / G holds exactly for full training.
    """
    import sympy
    from .. import symbols as s
    from ..numeric import constant_values
    from ..report import latex_expr
    if system is None:
        from ..equations import training as _tr
        from ..equations import walls
        system = System(_tr.equations("full"), _tr.WALL.constraints,
                        walls=(walls.software, _tr.WALL), name="training (full)")

    def f(sym):
        return system.expr(sym, constants=False) if system.is_output(sym) else sym

    names = {"C": s.model_flops_per_token * s.training_tokens, "N": s.devices,
             "R_peak": s.peak_flops,
             # the compute time splits into GEMM, attention and memory-bound kernels (training
             # step), so the MFU while computing is the model FLOPs over N R_peak T_c
             "eta_mfu": s.model_flops_per_token * s.tokens_per_step
             / (s.devices * s.peak_flops * s.step_compute_time),
             "eta_scaling": s.scaling_efficiency, "G": s.training_goodput}
    factors = {}
    for k, e in names.items():
        e = e.xreplace({x: f(x) for x in e.free_symbols
                        if x.name in [o.name for o in system.outputs + system.inputs]})
        # base-unit constants, as the compiled kernels use (declared-unit ones, e.g. 1 B/token,
        # would be off by 8 against base-unit inputs)
        factors[k] = e.xreplace(constant_values([e]))
    C, N, R, em, es, G = (sympy.Symbol(n, positive=True) for n in
                          ("C", "N", "R_peak", "eta_MFU", "eta_scaling", "G"))
    rhs = C / (N * R * em * es * G)

    def one_level(sym):
        eq = system.definitions.get(sym)
        return latex_expr(eq.rhs) if eq is not None else latex_expr(sym)

    latex = (r"T = \frac{C}{N \, R_{\mathrm{peak}} \, \eta_{\mathrm{MFU}} \, "
             r"\eta_{\mathrm{scaling}} \, G},\quad C = " + latex_expr(names["C"])
             + r",\quad \eta_{\mathrm{MFU}} = " + latex_expr(names["eta_mfu"])
             + r",\quad \eta_{\mathrm{scaling}} = " + one_level(s.scaling_efficiency)
             + r",\quad T_{\mathrm{step}} = " + one_level(s.training_step_time)
             + r",\quad G = " + one_level(s.training_goodput))
    return IronLaw(s.job_duration, rhs, factors, latex)
