"""Semi-structured interviews: notes or transcripts with the interviewee's profile, coded with a theme grid.

The notes file is a CSV with one row per interview: `entretien` (identifier) and `texte` (the note or transcript)
are required; `repondant` links it to a survey respondent, `commune` (INSEE code, checked against the referential)
and every other column (sexe, age, csp…) make the profile; an optional `themes` column holds the analyst's own
codes (theme identifiers separated by « ; »).

The theme grid is a YAML file:

    themes:
      - id: mobilite
        label: Mobilité et transports
        description: Déplacements, offre de transport, stationnement
        keywords: [bus, train, voiture, stationnement, covoiturage]

Coding: each sentence of a note that contains a keyword of a theme (case and accents ignored, a keyword matching
the start of a word: « transport » matches « transports », a keyword of three letters or less only a whole word:
« ter » does not match « terril ») becomes a quotation of that theme; a theme the analyst
gave in `themes` is kept even without keyword, with the whole note as its quotation. Counts of themes by profile
and quotations under each theme are read back with `theme_counts` and `quotations`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from vigie.errors import ImportValidationError, NotFoundError
from vigie.progress import Reporter
from vigie.sources.base import Batch, Importer, file_digest, run_import
from vigie.sources.readers import check_codes, read_csv
from vigie.modules.enquete.schema import INTERVIEW_TABLES, delete_sources, ensure_schema, require_schema
from vigie.warehouse import Warehouse

ID_COLUMN, TEXT_COLUMN, RESPONDENT_COLUMN, COMMUNE_COLUMN, THEMES_COLUMN = "entretien", "texte", "repondant", "commune", "themes"
THEME_ID = re.compile(r"^[a-z0-9_]{2,40}$")
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def normalise(text: str) -> str:
    """Lower case, no accents, punctuation as spaces (for keyword matching)."""
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


@dataclass
class Theme:
    id: str
    label: str
    description: str | None
    keywords: list[str]

    def pattern(self) -> re.Pattern | None:
        words = sorted({normalise(k) for k in self.keywords if normalise(k)}, key=len, reverse=True)
        if not words:
            return None
        # Long keywords match the start of a word (plurals, derived forms); short ones (≤ 3 letters) whole words only.
        alternatives = [re.escape(w) + ("(?: |$)" if len(w) <= 3 else "") for w in words]
        return re.compile(r"(?:^| )(?:" + "|".join(alternatives) + ")")


def load_grid(path: Path | str) -> list[Theme]:
    path = Path(path)
    file = path.name
    if not path.exists():
        raise ImportValidationError(file, f"grille de thèmes introuvable ({path}).")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ImportValidationError(file, f"YAML illisible ({getattr(exc, 'problem', exc)}).", line=mark.line + 1 if mark else None) from None
    entries = (raw or {}).get("themes") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ImportValidationError(file, "une liste « themes » non vide est attendue.", column="themes")
    themes, seen = [], set()
    for i, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise ImportValidationError(file, f"thème n°{i} : id, label et keywords attendus.", column="themes")
        theme_id = str(entry.get("id", "")).strip()
        if not THEME_ID.match(theme_id):
            raise ImportValidationError(file, f"thème n°{i} : identifiant « {theme_id} » invalide (minuscules, chiffres, _).", column="id")
        if theme_id in seen:
            raise ImportValidationError(file, f"thème « {theme_id} » déclaré deux fois.", column="id")
        seen.add(theme_id)
        label = entry.get("label")
        if not label:
            raise ImportValidationError(file, f"thème « {theme_id} » : libellé (label) absent.", column="label")
        keywords = entry.get("keywords") or []
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            raise ImportValidationError(file, f"thème « {theme_id} » : « keywords » doit être une liste de mots.", column="keywords")
        themes.append(Theme(theme_id, str(label), entry.get("description"), keywords))
    return themes


def code_text(text: str, themes: list[Theme]) -> dict[str, list[str]]:
    """Sentences of `text` quoted under each theme whose keywords they contain."""
    sentences = [s.strip() for s in SENTENCE_END.split(text.strip()) if s.strip()]
    out: dict[str, list[str]] = {}
    for theme in themes:
        pattern = theme.pattern()
        if pattern is None:
            continue
        hits = [s for s in sentences if pattern.search(" " + normalise(s))]
        if hits:
            out[theme.id] = hits
    return out


class InterviewsImporter(Importer):
    kind = "enquete-entretiens"
    title = "Entretiens semi-directifs"
    producer = "Non précisé"

    def __init__(self, path: Path | str, grid: Path | str | None = None, survey: str | None = None, **options: Any):
        grid = grid or options.pop("grid", None)
        survey = survey or options.pop("survey", None)
        if grid is None or survey is None:
            raise ImportValidationError(Path(path).name, "il faut l'identifiant de l'enquête et la grille de thèmes.")
        self.grid_path = Path(grid)
        self.themes = load_grid(self.grid_path)
        super().__init__(path, survey=survey, grid_sha256=file_digest(self.grid_path, {}), **options)
        self.survey = str(survey)
        self.synthetic = bool(str(options.get("synthetic", "")).lower() in {"true", "1", "oui"} or options.get("synthetic") is True)
        self.tables: dict[str, pd.DataFrame] = {}
        self.attached = False  # set by `import_interviews`, which writes the tables `read` prepares

    def dataset(self) -> str:
        return f"enquete-entretiens:{self.survey}"

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        file = self.path.name
        if not self.attached:
            raise ImportValidationError(file, "des entretiens s'importent avec « vigie enquete entretiens » (ou import_interviews).")
        separator = self.options.get("separator", ",")
        frame = read_csv(self.path, separator=separator, required=[ID_COLUMN, TEXT_COLUMN],
                         encoding=self.options.get("encoding", "utf-8"), kind_label="d'entretiens", key=[ID_COLUMN])
        for col in (ID_COLUMN, TEXT_COLUMN):
            empty = frame[col] == ""
            if empty.any():
                raise ImportValidationError(file, "valeur vide.", line=int(frame.loc[empty, "_line"].iloc[0]), column=col)
        if COMMUNE_COLUMN in frame.columns:
            known = set(wh.territories("commune")["code"])
            check_codes(frame[frame[COMMUNE_COLUMN] != ""], COMMUNE_COLUMN, known, file, what="commune")
        theme_ids = {t.id for t in self.themes}
        profile_cols = [c for c in frame.columns
                        if c not in {ID_COLUMN, TEXT_COLUMN, THEMES_COLUMN, RESPONDENT_COLUMN, COMMUNE_COLUMN, "_line"}]
        interviews, codings = [], []
        for _, row in frame.iterrows():
            manual = []
            if THEMES_COLUMN in frame.columns and row[THEMES_COLUMN]:
                manual = [t.strip() for t in re.split(r"[;,]", row[THEMES_COLUMN]) if t.strip()]
                unknown = [t for t in manual if t not in theme_ids]
                if unknown:
                    raise ImportValidationError(file, f"thème « {unknown[0]} » absent de la grille ({', '.join(sorted(theme_ids))}).",
                                                line=int(row["_line"]), column=THEMES_COLUMN)
            text = row[TEXT_COLUMN]
            coded = code_text(text, self.themes)
            for theme in self.themes:
                quotes = coded.get(theme.id)
                by = "mots-clés"
                if theme.id in manual:
                    by = "analyste"
                    quotes = quotes or [text]
                for k, quote in enumerate(quotes or [], start=1):
                    codings.append({"interview": row[ID_COLUMN], "theme": theme.id, "excerpt_no": k, "excerpt": quote, "coded_by": by})
            interviews.append({
                "interview": row[ID_COLUMN], "respondent": row.get(RESPONDENT_COLUMN) or None,
                "commune": row.get(COMMUNE_COLUMN) or None,
                "profile": json.dumps({c: row[c] for c in profile_cols if row[c] != ""}, ensure_ascii=False),
                "content": text, "synthetic": self.synthetic})
        self.tables = {
            "survey_interview": pd.DataFrame(interviews).assign(survey=self.survey),
            "survey_theme": pd.DataFrame([{"theme": t.id, "label": t.label, "description": t.description,
                                           "keywords": json.dumps(t.keywords, ensure_ascii=False), "position": i}
                                          for i, t in enumerate(self.themes, start=1)]).assign(survey=self.survey),
            "survey_coding": pd.DataFrame(codings, columns=["interview", "theme", "excerpt_no", "excerpt", "coded_by"]).assign(survey=self.survey),
        }
        return Batch()


@dataclass
class InterviewsImport:
    survey: str
    source_id: int
    unchanged: bool
    interviews: int
    codings: int


def import_interviews(wh: Warehouse, notes: Path | str, grid: Path | str, survey: str, report: Reporter | None = None,
                      **options: Any) -> InterviewsImport:
    """Validate and code the notes, then store them (replacing an earlier import for the survey), all or nothing."""
    ensure_schema(wh)
    importer = InterviewsImporter(notes, grid, survey, **options)
    importer.attached = True
    with wh.transaction():
        old = [int(r[0]) for r in wh.query("SELECT id FROM source WHERE dataset = ?", (importer.dataset(),))]
        result = run_import(wh, importer, report)
        if result.unchanged:
            n = wh.query("SELECT count(*) FROM survey_interview WHERE survey = ?", (survey,))[0][0]
            c = wh.query("SELECT count(*) FROM survey_coding WHERE survey = ?", (survey,))[0][0]
            return InterviewsImport(survey, result.source_id, True, int(n), int(c))
        delete_sources(wh, INTERVIEW_TABLES, old)
        for table in INTERVIEW_TABLES:
            wh.insert_frame(table, importer.tables[table].assign(source_id=result.source_id))
        n, c = len(importer.tables["survey_interview"]), len(importer.tables["survey_coding"])
        wh.execute("UPDATE source SET rows = ? WHERE id = ?", (n + c, result.source_id))
    return InterviewsImport(survey, result.source_id, False, n, c)


def _interviews(wh: Warehouse, survey: str) -> pd.DataFrame:
    require_schema(wh)
    frame = wh.query_df("SELECT interview, respondent, commune, profile, content FROM survey_interview WHERE survey = ? "
                        "ORDER BY interview", (survey,))
    if frame.empty:
        raise NotFoundError(f"Aucun entretien pour l'enquête « {survey} » : lancez « vigie enquete entretiens ».")
    frame["profile"] = [json.loads(p) for p in frame["profile"]]
    return frame


def theme_counts(wh: Warehouse, survey: str, by: str | None = None) -> pd.DataFrame:
    """Interviews mentioning each theme (and their share), overall or by a profile key (sexe, age, csp, commune…)."""
    interviews = _interviews(wh, survey)
    themes = wh.query_df("SELECT theme, label, position FROM survey_theme WHERE survey = ? ORDER BY position", (survey,))
    coding = wh.query_df("SELECT interview, theme, count(*) AS extraits FROM survey_coding WHERE survey = ? "
                         "GROUP BY interview, theme", (survey,))
    if by is None:
        interviews["groupe"] = "ensemble"
    elif by == "commune":
        interviews["groupe"] = interviews["commune"].fillna("non renseigné")
    else:
        interviews["groupe"] = [p.get(by, "non renseigné") for p in interviews["profile"]]
    sizes = interviews.groupby("groupe")["interview"].count()
    merged = coding.merge(interviews[["interview", "groupe"]], on="interview")
    counts = merged.groupby(["theme", "groupe"]).agg(entretiens=("interview", "nunique"), extraits=("extraits", "sum"))
    rows = []
    for _, theme in themes.iterrows():
        for group, size in sizes.items():
            key = (theme["theme"], group)
            n = int(counts.loc[key, "entretiens"]) if key in counts.index else 0
            q = int(counts.loc[key, "extraits"]) if key in counts.index else 0
            rows.append({"theme": theme["theme"], "theme_libelle": theme["label"], "groupe": group,
                         "entretiens_groupe": int(size), "entretiens": n, "part": n / size, "extraits": q})
    return pd.DataFrame(rows)


def quotations(wh: Warehouse, survey: str, theme: str | None = None) -> pd.DataFrame:
    """Quotations under each theme, with the interviewee's profile."""
    interviews = _interviews(wh, survey).set_index("interview")
    sql = ("SELECT c.theme, t.label, c.interview, c.excerpt_no, c.excerpt, c.coded_by FROM survey_coding c "
           "JOIN survey_theme t ON t.survey = c.survey AND t.theme = c.theme WHERE c.survey = ?")
    params: list[Any] = [survey]
    if theme:
        sql += " AND c.theme = ?"
        params.append(theme)
    frame = wh.query_df(sql + " ORDER BY t.position, c.interview, c.excerpt_no", params)
    if theme and frame.empty and not wh.query("SELECT 1 FROM survey_theme WHERE survey = ? AND theme = ?", (survey, theme)):
        raise NotFoundError(f"Thème « {theme} » absent de la grille de l'enquête « {survey} ».")
    frame["profil"] = [", ".join(f"{k} : {v}" for k, v in interviews.loc[i, "profile"].items()) for i in frame["interview"]]
    frame["commune"] = [interviews.loc[i, "commune"] for i in frame["interview"]]
    return frame.rename(columns={"label": "theme_libelle", "excerpt": "citation", "coded_by": "codage", "interview": "entretien"})
