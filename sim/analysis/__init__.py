"""Post-processing of simulation outputs.

``compare`` collects a sweep's run folders and compares policies over seeds (summary
statistics with confidence intervals, paired differences against a baseline policy under
common random numbers); ``delinquency`` computes DPD buckets, roll-rate matrices, cure
rates and vintage default curves; ``plotting`` draws the figures (one module per figure
family); ``report`` turns a collected sweep into a one-page Markdown report with figures
and CSV tables.
"""
