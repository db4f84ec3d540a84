"""ABB's monitoring report, read in the order the figures flow:

- ``data``: :func:`~pijler3.report.data.build_report` assembles :class:`ReportData` from
  the analysis store, every table already through disclosure control (the privacy gate
  ``PublishedTable``/``PublishedCounts`` lives in :mod:`pijler3.analysis.disclosure`);
- ``answers``: the first page (the three questions answered, what changed since the
  previous delivery, the reference points beside their matching figure);
- ``sections``, ``groups_section`` and ``quality_section``: one view function per section
  of the page, built from the pieces in ``view`` (cells typed for the workbook, tables
  naming their sheet, figures, the charts drawn so far);
- ``html`` (the Jinja page), ``xlsx`` (the workbook) and ``files`` (``indicators.csv``,
  the entry points :func:`~pijler3.report.files.write_report` and ``render``, atomic
  writes of the three files);
- ``charts``: the inline SVG charts; ``fmt``: the report's names for the nl-BE
  formatters of :mod:`pijler3.contract.fmt`; ``labels``: the Dutch words of the report,
  looked up in ``data/labels-nl.toml`` (:mod:`pijler3.contract.words`).

The only user of xlsxwriter; the page is a Jinja template (``data/templates``).

May import: :mod:`pijler3.governance` and everything below it; never the steps or the
CLI.
"""
