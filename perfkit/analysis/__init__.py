"""Analysis: pure functions over runs (statistics, comparison, scaling, memory, budgets,
profiles). Reads run directories through `perfkit.rundir`; never measures, never draws."""
