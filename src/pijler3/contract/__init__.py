"""The contract: the protocol file, the code lists, the INSZ rules, the termination rules,
the error types, the Dutch words for people (:mod:`~pijler3.contract.words`, read from
``data/labels-nl.toml`` beside the code lists) and nl-BE formatting
(:mod:`~pijler3.contract.fmt`). Pure: no file is written and no clock is read here (the
protocol, the code lists and the words are read once from the package's own data files).

May import: nothing of pijler3 outside this package.
"""
