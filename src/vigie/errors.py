"""The family of errors Vigie shows to people.

Every error carries a French message fit for an end user and, where it applies, the HTTP status a web
publisher should answer with, so that a data-layer failure becomes the right response without glue code.
"""

from __future__ import annotations


class VigieError(Exception):
    """Base error: `message` is French and complete; `http_status` is used by the web publisher."""

    http_status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ConfigurationError(VigieError):
    """A configuration file or setting is wrong."""


class NotFoundError(VigieError):
    """A territory, indicator or source that does not exist."""

    http_status = 404


class AmbiguousCodeError(VigieError):
    """A code that names territories at several levels."""

    http_status = 409


class ImportValidationError(VigieError):
    """A file that cannot be imported. Names the file, the line and the column at fault.

    `line` counts lines of the file as a text editor shows them (the header is line 1); for
    GeoJSON or other feature files it is the feature number (1-based).
    """

    http_status = 422

    def __init__(self, file: str, problem: str, *, line: int | None = None, column: str | None = None):
        self.file = file
        self.line = line
        self.column = column
        self.problem = problem
        where = [f"fichier « {file} »"]
        if line is not None:
            where.append(f"ligne {line}")
        if column is not None:
            where.append(f"colonne « {column} »")
        super().__init__(", ".join(where) + f" : {problem}")
