"""The four steps of the chain, one module and one entry function each: ``export``
(AgII), ``link`` (VDAB), ``publish`` (AgII) and ``ingest`` (ABB). Data flows one way;
no step reaches into another step's internals.

May import: :mod:`pijler3.governance` and everything below it.
"""
