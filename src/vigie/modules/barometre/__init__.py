"""Quarterly Baromètre économique: series with their revisions, importers of the official layouts, the release."""
