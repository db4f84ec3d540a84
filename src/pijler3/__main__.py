"""``python -m pijler3`` runs the command line."""

from pijler3.cli.commands import main

main()
