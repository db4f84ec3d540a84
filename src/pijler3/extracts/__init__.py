"""The source extracts: readers for CSV and XLSX that type and check every cell, the
data-quality findings they produce, and the synthetic extracts for tests and demos.

May import: :mod:`pijler3.exchange` (the scrubber, atomic writes) and
:mod:`pijler3.contract`.
"""
