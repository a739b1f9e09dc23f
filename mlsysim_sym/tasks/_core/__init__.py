"""What every task shares: named input builders, knob resolution, the result base class.

Import the submodules directly (``from mlsysim_sym.tasks._core import inputs, knobs``); this
package imports nothing so that a light task (the CLI's name checks) does not pay for numpy.
"""
