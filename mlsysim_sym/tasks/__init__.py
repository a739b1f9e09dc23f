"""The task layer: what a user asks (predict, serve, size a fleet, train, plan, synthesize),
each a function that gathers inputs, calls one composed system and wraps the result.

- ``_core``: what every task shares: named input builders (``inputs``), the efficiency and
  knob resolver (``knobs``), the result base class (``result``) and the hot paths' tables,
  emptied when the registry changes (``memo``); input checks live in
  :mod:`mlsysim_sym.checks` and defaults in :mod:`mlsysim_sym.defaults`.
- ``serving``: ``predict`` for decoder and MoE LLMs (``system``: the composed serving systems
  and their kernels; ``moe``; ``result``: ``Prediction``; ``llm``: ``predict`` and the dispatch
  of the other families);
- ``workloads``: diffusion, TinyML, CNN / ViT / encoder passes, SSM (Mamba), MoE inputs;
- ``training``: ``train`` (``config``: ``TrainConfig``; ``machine``; ``efficiency``; ``step``:
  the system and one call; ``ops``: walls 15, 17-19 on demand; ``result``: ``TrainResult``);
- ``fleet``: ``serve`` (``service``), ``size_fleet`` (``size``; its replica search over every
  chip and degree at once: ``search``), the load at a request rate (``load``), separate
  prefill and decode pools (``disaggregated``), cost and carbon (``costs``); ``planning``:
  ``best_parallelism``;
  ``synthesis``: ``synthesize``; ``scaling_laws``, ``compression``, ``footprint``.

Nothing is imported here: ``import mlsysim_sym.tasks`` stays free, and each task module loads
what it needs when first used (``mlsysim_sym`` re-exports the public functions lazily).
"""
