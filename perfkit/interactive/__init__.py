"""Measurement where the user already is: IPython magics, the pytest plugin, and the
in-process timing they share. Sits on top of collect/analysis/render and calls down."""
