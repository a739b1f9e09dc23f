"""Analyses over a system or a result, beside the task layer.

- ``iron_law``: the Iron Law of training, ``T = C / (N R_peak eta_MFU eta_scaling G)``, composed
  from a system's walls (:class:`~mlsysim_sym.analysis.iron_law.IronLaw`; ``System.iron_law()``);
- ``explain``: the equations behind any result, symbolically, with its numbers and values;
- ``citations``: ``latex``, ``cite`` (BibTeX of what a result depended on), ``values_used``;
- ``uncertainty``: p10 / p50 / p90 bands (``Band``, ``sample_parameters``, ``band_of``,
  ``discrepancy``).

They read a system and a result's public methods (``system``, ``base_inputs``,
``defaults_used``, ``registry_fields``) and import nothing of the task layer. Nothing is
imported here: each module loads when first used.
"""
