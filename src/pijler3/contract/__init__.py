"""The contract: the protocol file, the code lists, the INSZ rules, the termination rules
and the error types. Pure: no file is written and no clock is read here (the protocol
and the code lists are read once from the package's own data files).

May import: nothing of pijler3 outside this package.
"""
