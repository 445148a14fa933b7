"""The report room: notebooks run by papermill, their data and the rendered report.

`open_report` gives a notebook its data (perfkit.report.data); `run_pipeline` runs the
notebooks (perfkit.report.pipeline); `write_report` renders the markdown and HTML.
"""

from __future__ import annotations

from perfkit.report.artifacts import SavedFigure
from perfkit.report.data import ReportData, open_report
from perfkit.report.document import write_report

__all__ = ["ReportData", "SavedFigure", "open_report", "write_report"]
