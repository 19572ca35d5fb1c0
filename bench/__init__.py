"""`make bench` (python -m bench): figures of what a writer feels, as ratios measured within one run.

One module per figure (fig1_overhead … fig6_throughput), the stack in harness.py, the table in __main__.py.
"""
