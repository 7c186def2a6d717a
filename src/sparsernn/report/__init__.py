"""The report of a results directory: one self-contained HTML page that answers the
research questions with figures.

``sparsernn report DIR`` (and every ``sparsernn run``, when it ends) writes
``DIR/report.html`` and the figures as ``DIR/figures/*.svg`` and ``*.png``:

- :mod:`~sparsernn.report.data` reads the results and computes the analysis tables;
- :mod:`~sparsernn.report.setup`, :mod:`~sparsernn.report.dense`,
  :mod:`~sparsernn.report.pruning`, :mod:`~sparsernn.report.structure` and
  :mod:`~sparsernn.report.families` make a section each, present when its data exists;
- :mod:`~sparsernn.report.answers` answers the five research questions from the tables;
- :mod:`~sparsernn.report.style` draws every figure in one style,
  :mod:`~sparsernn.report.html` writes the page (everything escaped, nothing loaded),
  :mod:`~sparsernn.report.build` puts them together.

This package reads :mod:`sparsernn.analysis`, :mod:`sparsernn.store` and the registry;
nothing below the command line imports it.
"""

from .answers import QUESTIONS, Answer
from .build import REPORT, Report, build_report, record_run, write_report
from .data import StudyData, collect, load

__all__ = ["QUESTIONS", "REPORT", "Answer", "Report", "StudyData", "build_report", "collect", "load", "record_run",
           "write_report"]
