"""What passes between the parties and what each keeps as evidence: the only module that
touches cryptographic primitives (``_crypto``), pseudonyms, sealed packages and their
manifests, the transfer helpers the steps share, signed JSON documents, the append-only
audit log, the workspace (keys, folders, the protocol copy), atomic writes, CSV files for
people (``peoplecsv``: no cell becomes a formula), and the free-text scrubber.

May import: :mod:`pijler3.contract`.
"""
