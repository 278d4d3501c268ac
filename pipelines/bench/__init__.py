"""The benchmark harness: ``telcolake bench`` (docs/benchmarks.md).

It generates an operator at a scale once (``cache``), runs the billing period's stages on
it as the DAG does, each task in a child process of its own (``runner``, ``stages``) whose
time, peak memory and input/output are measured (``measure``), measures the baselines on the
same data (``baselines``) and writes the report of the run and the table across scales
(``report``). ``harness`` ties these together for the command.
"""
