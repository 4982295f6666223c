"""The benchmark suite of comet_widgets: ``python -m bench`` (``make bench``) runs it all.

See bench/RESULTS.md for what it measures and the last full run's figures.
"""
