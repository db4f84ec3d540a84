"""pijler3: pseudonymised monitoring of the third pillar of Flemish civic integration."""

__version__ = "0.1.0"
