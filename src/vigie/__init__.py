"""Vigie: an open territorial observatory for French urban-planning agencies."""

__version__ = "0.1.0"
