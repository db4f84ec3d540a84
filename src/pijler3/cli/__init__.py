"""The command line: click commands only. Each parses, calls one library function and
prints; a :class:`~pijler3.contract.errors.UserError` becomes one ``Error: …`` line with
exit code 1.

May import: everything.
"""
