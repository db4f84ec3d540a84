"""The protocol's rules over time and between the parties: termination and the one
in-force check every step calls, retention and purge, onward disclosure, breaches, the
publication of the protocol, and the status overview. Their Dutch letters (destruction
records, breach notifications) are Jinja templates in ``data/templates/letters/``,
rendered by :mod:`pijler3.governance.letters`.

Governance sits below the steps because every step must ask it whether the protocol is
in force before it produces or accepts a package.

May import: :mod:`pijler3.analysis` and everything below it; never the steps, the
report or the CLI.
"""
