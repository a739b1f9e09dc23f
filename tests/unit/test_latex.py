"""LaTeX output: a snapshot of wall 1 and the shape of wall 4."""

from mlsysim_sym.equations import walls

COMPUTE_SNAPSHOT = r"""% Wall 1: Compute (node)
\begin{align}
  T_{c} &= \frac{W}{\eta_{c}\,R_{\mathrm{peak}}} && \text{\cite{williams2009roofline}}
\end{align}
\begin{tabular}{llll}
  Symbol & Name & Unit & Meaning \\ \hline
  $\eta_{c}$ & \texttt{compute\_efficiency} & -- & achieved fraction of peak compute rate \\
  $T_{c}$ & \texttt{compute\_time} & s & time to execute the step's FLOPs \\
  $W$ & \texttt{flops} & FLOP & floating-point work of one step \\
  $R_{\mathrm{peak}}$ & \texttt{peak\_flops} & TFLOP/s & peak dense compute rate of one accelerator at the chosen precision \\
\end{tabular}
% references: williams2009roofline"""


def test_compute_wall_latex_snapshot():
    assert walls.compute.latex() == COMPUTE_SNAPSHOT


def test_serving_latex_has_kv_cache_and_roofline():
    tex = walls.serving.latex()
    # the KV cache reads the cached elements per token and layer e_kv, which wall 4 defines for
    # MHA/GQA/MQA (the MLA record defines it for multi-head latent attention)
    # the attention's own TP degree t / d_a (d_a: attention data parallelism, 1 without it)
    assert r"e_{kv} &= 2\,d_{h}\,\max\left(H_{kv}, \frac{t}{d_{a}}\right)" in tex
    # ... for the tokens of the attention span, the context S under full attention (the
    # sliding-window record bounds it by the window)
    assert r"S_{\mathrm{att}} &= S" in tex
    assert r"M_{kv} &= S_{\mathrm{att}}\,B\,b_{kv}\,e_{kv}\,L" in tex
    assert r"\max\left(T_{d,c}, T_{d,m}\right)" in tex
    assert r"\cite{pope2023inference}" in tex
