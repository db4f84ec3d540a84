"""``python -m pijler3`` runs the command line."""

from pijler3.cli import main

main()
