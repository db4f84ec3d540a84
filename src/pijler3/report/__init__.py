"""ABB's monitoring report: the report data assembled from the store under disclosure
control, one view per section, and the files written from them (``report.html``,
``report.xlsx``, ``indicators.csv``); charts as inline SVG and nl-BE formatting. The only
user of Jinja and xlsxwriter.

May import: :mod:`pijler3.governance` and everything below it; never the steps or the
CLI.
"""
