"""`make bench` (python -m bench): figures of what a writer feels, as ratios measured within one run.

One module per figure (fig1_overhead … fig8_live), the stack in harness.py, what a writer does in writer.py, the table in __main__.py.
"""
