"""Rendering: formatting, terminal tables, plots, call graphs and icicles.

Data in, text or a matplotlib Figure out; nothing here reads run directories or computes
statistics."""
