"""What every task shares: named input builders, knob resolution, the result base class, the
hot paths' tables (``memo``: emptied when the registry changes).

Import the submodules directly (``from mlsysim_sym.tasks._core import inputs, knobs``); this
package imports nothing so that a light task (the CLI's name checks) does not pay for numpy.
"""
