"""The task layer: what a user asks (predict, serve, size a fleet, train, plan, synthesize),
each a function that gathers inputs, calls one composed system and wraps the result.

- ``_core``: what every task shares: named input builders (``inputs``), the efficiency and
  knob resolver (``knobs``) and the result base class (``result``); input checks live in
  :mod:`mlsysim_sym.checks` and defaults in :mod:`mlsysim_sym.defaults`.
- ``serving``: ``predict`` for decoder and MoE LLMs (walls 1, 2, 4 and continuous batching);
- ``workloads``: diffusion, TinyML, CNN / ViT / encoder passes;
- ``training``: ``train`` (config, machine, efficiency, result);
- ``fleet``: ``serve``, ``size_fleet``; ``planning``: ``best_parallelism``;
  ``synthesis``: ``synthesize``; ``scaling_laws``, ``compression``, ``footprint``.

Nothing is imported here: ``import mlsysim_sym.tasks`` stays free, and each task module loads
what it needs when first used (``mlsysim_sym`` re-exports the public functions lazily).
"""
