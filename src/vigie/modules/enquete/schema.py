"""The survey module's own warehouse tables, in SQL that DuckDB and PostgreSQL both accept.

They sit beside the core schema (`vigie.warehouse.schema`) and are created on first use (`ensure_schema`). Every
row carries the `source_id` of the import that wrote it — the survey file, or the interview file — so that a new
import of the same survey replaces exactly what the previous one wrote, weights included.
"""

from __future__ import annotations

from vigie.warehouse import Warehouse

TABLES: dict[str, str] = {
    # One row per survey: its description and its codebook (YAML text, read back by `survey.load_survey`).
    "survey": """
        id VARCHAR PRIMARY KEY,
        title VARCHAR NOT NULL,
        producer VARCHAR,
        vintage VARCHAR,
        population VARCHAR,
        territory VARCHAR,
        cog INTEGER NOT NULL,
        respondents INTEGER NOT NULL,
        synthetic BOOLEAN NOT NULL,
        codebook VARCHAR NOT NULL,
        source_id INTEGER NOT NULL
    """,
    "survey_variable": """
        survey VARCHAR NOT NULL,
        variable VARCHAR NOT NULL,
        label VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        role VARCHAR,
        position INTEGER NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (survey, variable)
    """,
    "survey_modality": """
        survey VARCHAR NOT NULL,
        variable VARCHAR NOT NULL,
        code VARCHAR NOT NULL,
        label VARCHAR NOT NULL,
        position INTEGER NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (survey, variable, code)
    """,
    "survey_respondent": """
        survey VARCHAR NOT NULL,
        respondent VARCHAR NOT NULL,
        commune VARCHAR NOT NULL,
        epci VARCHAR,
        design_weight DOUBLE PRECISION,
        line INTEGER NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (survey, respondent)
    """,
    # Answers in long form; a missing answer has no row.
    "survey_answer": """
        survey VARCHAR NOT NULL,
        respondent VARCHAR NOT NULL,
        variable VARCHAR NOT NULL,
        answer VARCHAR NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (survey, respondent, variable)
    """,
    # Places where respondents go, per motive (mention 1 = first destination column of the motive).
    "survey_destination": """
        survey VARCHAR NOT NULL,
        respondent VARCHAR NOT NULL,
        motive VARCHAR NOT NULL,
        mention INTEGER NOT NULL,
        destination VARCHAR NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (survey, respondent, motive, mention)
    """,
    # A weighting scheme: how it was computed (method, margins as JSON) and its report (JSON).
    "survey_weighting": """
        survey VARCHAR NOT NULL,
        scheme VARCHAR NOT NULL,
        method VARCHAR NOT NULL,
        bound_low DOUBLE PRECISION,
        bound_high DOUBLE PRECISION,
        trim_low DOUBLE PRECISION,
        trim_high DOUBLE PRECISION,
        population DOUBLE PRECISION,
        margins VARCHAR NOT NULL,
        converged BOOLEAN NOT NULL,
        iterations INTEGER NOT NULL,
        report VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (survey, scheme)
    """,
    "survey_weight": """
        survey VARCHAR NOT NULL,
        scheme VARCHAR NOT NULL,
        respondent VARCHAR NOT NULL,
        initial_weight DOUBLE PRECISION NOT NULL,
        weight DOUBLE PRECISION NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (survey, scheme, respondent)
    """,
    "survey_interview": """
        survey VARCHAR NOT NULL,
        interview VARCHAR NOT NULL,
        respondent VARCHAR,
        commune VARCHAR,
        profile VARCHAR NOT NULL,
        content VARCHAR NOT NULL,
        synthetic BOOLEAN NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (survey, interview)
    """,
    "survey_theme": """
        survey VARCHAR NOT NULL,
        theme VARCHAR NOT NULL,
        label VARCHAR NOT NULL,
        description VARCHAR,
        keywords VARCHAR NOT NULL,
        position INTEGER NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (survey, theme)
    """,
    "survey_coding": """
        survey VARCHAR NOT NULL,
        interview VARCHAR NOT NULL,
        theme VARCHAR NOT NULL,
        excerpt_no INTEGER NOT NULL,
        excerpt VARCHAR NOT NULL,
        coded_by VARCHAR NOT NULL,
        source_id INTEGER NOT NULL,
        PRIMARY KEY (survey, interview, theme, excerpt_no)
    """,
}

# Tables written by a survey import (and the weightings derived from it), and by an interview import.
SURVEY_TABLES = ["survey", "survey_variable", "survey_modality", "survey_respondent", "survey_answer",
                 "survey_destination", "survey_weighting", "survey_weight"]
INTERVIEW_TABLES = ["survey_interview", "survey_theme", "survey_coding"]


def existing_tables(wh: Warehouse) -> set[str]:
    return wh.existing_tables(list(TABLES))


def ensure_schema(wh: Warehouse) -> None:
    """Create the module's tables when they do not exist yet (idempotent; nothing is written when they all exist)."""
    wh.ensure_tables(TABLES)


def require_schema(wh: Warehouse) -> None:
    """For readers (a read-only warehouse included): the tables must exist, else no survey was ever imported."""
    from vigie.errors import NotFoundError

    if "survey" not in existing_tables(wh):
        raise NotFoundError("L'entrepôt ne contient aucune enquête : lancez « vigie enquete importer ».")


def delete_sources(wh: Warehouse, tables: list[str], source_ids: list[int]) -> None:
    """Remove what the given imports wrote in the module's tables (inside the caller's transaction)."""
    wh.delete_sources(tables, source_ids)
