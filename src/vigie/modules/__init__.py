"""Thematic modules of the observatory, each with its own tables, computations and commands (survey, …)."""
