"""Problem reports ("信息有误？") that the public files about a station, and the staff queue.

* :mod:`~locator.reports.filing`: a visitor's report from the public station page;
* :mod:`~locator.reports.queue`: the reports staff work through, per district.

Not to be confused with the import's problem report (:mod:`locator.imports.problem_sheet`,
the annotated XLSX) or its JSON report (:meth:`locator.imports.plan.ImportPlan.report`).
"""
