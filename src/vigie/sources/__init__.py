"""Importers, one module per source format. Each validates completely, then writes all-or-nothing."""
