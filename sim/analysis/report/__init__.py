"""One-page Markdown report comparing limit policies over a collected sweep.

:func:`write_report` summarises a :class:`~sim.analysis.compare.RunTables` (means and
confidence intervals over seeds, paired differences against a baseline policy under
common random numbers), draws the figures of :mod:`sim.analysis.plotting` and writes,
all through :mod:`sim.outputs.files` (atomic writes)::

    out_dir/
      report.md                  the report (figures linked relatively); it leads with
                                 who bears the cuts (effects on the treated)
      report.html                the same, self-contained (figures embedded, sortable tables)
      key_numbers.txt            one sentence per policy: what its cuts did to the cut
      treated_effects.csv, treated_firm_effects.csv, event_study.csv
                                 effects on the treated (sim.analysis.compare.treated)
      comparison_summary.csv     summarise() output, long format
      paired_differences.csv     paired_differences() output, long format
      figures/<name>[_<scenario>].<fmt>

With several scenarios every per-scenario figure is drawn once per scenario (file names
get the scenario as suffix), because pooling different exogenous worlds would be
misleading. Figures whose input table is empty (e.g. no vintage table written) are
skipped and listed as not available.
"""

from sim.analysis.report.document import SUPPLEMENTARY_METRICS, write_report
from sim.analysis.report.figures import FAN_METRICS, TIMESERIES_METRICS

__all__ = ["FAN_METRICS", "SUPPLEMENTARY_METRICS", "TIMESERIES_METRICS", "write_report"]
