"""The monitoring dataset and what is computed from it: its schema (``dataset``), the
analysis store (``store``, the only DuckDB user), the indicators and their Kaplan-Meier
fits (``survival``), disclosure control (with the report's privacy gate), the
disparities models and the re-identification risk. Mostly pure: only ``store`` touches
files.

May import: :mod:`pijler3.extracts`, :mod:`pijler3.exchange`, :mod:`pijler3.contract`.
"""
