"""Import of survey microdata (CSV or XLSX) described by a codebook, validated whole before anything is written.

`SurveyImporter` is an ordinary importer (`vigie.sources.base.Importer`): it reads and checks the whole file and
never writes. `import_survey` runs it through `run_import` — which records the source, replaces an earlier import
of the same survey and skips a file already imported — and writes the module's tables in the same transaction:
the survey lands whole or the warehouse is left as it was.

Every problem names the file, the line (header = line 1) and the column: a missing column (the weight column the
codebook declares, among others), an empty or repeated respondent identifier, a home commune absent from the
warehouse's referential, a missing or non-positive weight, a modality the codebook does not know, a destination
that is neither a commune of the referential nor a declared outside destination.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vigie.errors import ImportValidationError
from vigie.progress import Reporter
from vigie.sources.base import Batch, Importer, run_import
from vigie.sources.readers import check_codes, check_unique, parse_numbers, read_csv
from vigie.modules.enquete.codebook import MOTIVES, Codebook, load_codebook
from vigie.modules.enquete.schema import SURVEY_TABLES, delete_sources, ensure_schema
from vigie.warehouse import Warehouse

EXCEL_SUFFIXES = {".xlsx", ".xlsm"}


def read_table(path: Path, codebook: Codebook) -> pd.DataFrame:
    """The data file as strings, with `_line` (line of each row in the file or sheet, header = 1)."""
    file = path.name
    if path.suffix.lower() in EXCEL_SUFFIXES:
        if importlib.util.find_spec("openpyxl") is None:
            raise ImportValidationError(file, "lecture des fichiers XLSX impossible : installez le paquet « openpyxl ».")
        try:
            frame = pd.read_excel(path, sheet_name=codebook.sheet if codebook.sheet is not None else 0, dtype=str,
                                  keep_default_na=False)
        except ValueError as exc:
            raise ImportValidationError(file, f"feuille « {codebook.sheet} » introuvable ou illisible ({exc}).") from None
        except Exception as exc:  # a corrupt or non-XLSX file
            raise ImportValidationError(file, f"classeur XLSX illisible ({exc}).") from None
        header = [str(c).strip() for c in frame.columns]
        dupes = sorted({h for h in header if header.count(h) > 1})
        if dupes:
            raise ImportValidationError(file, "colonne en double dans l'en-tête.", line=1, column=dupes[0])
        frame.columns = header
        frame = frame.fillna("").astype(str).apply(lambda col: col.str.strip())
        frame["_line"] = np.arange(len(frame)) + 2
        frame = frame[(frame.drop(columns="_line") != "").any(axis=1)].reset_index(drop=True)
        if frame.empty:
            raise ImportValidationError(file, "la feuille ne contient aucune ligne de données.", line=2)
        for col in (codebook.respondent, codebook.commune):
            if col not in frame.columns:
                raise ImportValidationError(file, "colonne obligatoire absente.", line=1, column=col)
        return frame
    if path.suffix.lower() not in {".csv", ".txt", ".tsv"}:
        raise ImportValidationError(file, f"format « {path.suffix or 'sans extension'} » non pris en charge : CSV ou XLSX attendu.")
    return read_csv(path, separator=codebook.separator, required=[codebook.respondent, codebook.commune],
                    encoding=codebook.encoding, kind_label="d'enquête")


class SurveyImporter(Importer):
    """Survey microdata + codebook → the module's tables (through `import_survey`)."""

    kind = "enquete"
    title = "Enquête auprès des habitants"
    producer = "Non précisé"

    def __init__(self, path: Path | str, codebook: Path | str | Codebook | None = None, **options: Any):
        source = codebook if codebook is not None else options.pop("codebook", None)
        options.pop("codebook", None)
        if source is None:
            raise ImportValidationError(Path(path).name, "dictionnaire des variables (codebook YAML) non fourni.")
        self.codebook = source if isinstance(source, Codebook) else load_codebook(source)
        super().__init__(path, codebook_sha256=self.codebook.sha256, **options)
        cb = self.codebook
        self.title = cb.title
        self.producer = cb.producer
        if cb.licence:
            self.licence = cb.licence
        self.synthetic = cb.synthetic
        self.cog: int | None = cb.cog
        self.tables: dict[str, pd.DataFrame] = {}
        self.attached = False  # set by `import_survey`, which writes the tables `read` prepares

    def dataset(self) -> str:
        return f"enquete:{self.codebook.survey}"

    def vintage(self) -> str | None:
        return self.options.get("vintage") or self.codebook.vintage

    def prepare(self, wh: Warehouse) -> None:
        if self.cog is None:
            self.cog = wh.latest_cog("commune")

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        cb, file = self.codebook, self.path.name
        if not self.attached:
            # Through `vigie import` alone the survey tables would stay empty behind a recorded source.
            raise ImportValidationError(file, "une enquête s'importe avec « vigie enquete importer » (ou import_survey).")
        if self.cog is None:
            self.prepare(wh)
        frame = read_table(self.path, cb)
        header = set(frame.columns)
        if cb.weight and cb.weight not in header:
            raise ImportValidationError(
                file, f"la variable de poids « {cb.weight} » déclarée dans le dictionnaire est absente du fichier : "
                "rien n'a été importé.", line=1, column=cb.weight)
        for col in cb.required_columns():
            if col not in header:
                raise ImportValidationError(file, "colonne déclarée dans le dictionnaire des variables mais absente du fichier.",
                                            line=1, column=col)
        missing = set(cb.missing_values)
        # Respondents: identifier present and unique.
        empty = frame[cb.respondent] == ""
        if empty.any():
            raise ImportValidationError(file, "identifiant de répondant vide.", line=int(frame.loc[empty, "_line"].iloc[0]),
                                        column=cb.respondent)
        check_unique(frame, [cb.respondent], file)
        # Home communes in the referential of the survey's COG.
        known = set(wh.territories("commune", self.cog)["code"])
        if not known:
            raise ImportValidationError(file, f"l'entrepôt ne contient aucune commune au COG {self.cog} : importez d'abord le référentiel.")
        empty = frame[cb.commune] == ""
        if empty.any():
            raise ImportValidationError(file, "commune de résidence non renseignée.", line=int(frame.loc[empty, "_line"].iloc[0]),
                                        column=cb.commune)
        check_codes(frame, cb.commune, known, file, what="commune")
        # Design weight.
        weights = None
        if cb.weight:
            weights, status = parse_numbers(frame, cb.weight, file, decimal_comma=cb.decimal_comma)
            bad = status != "ok"
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ImportValidationError(file, "poids manquant.", line=int(frame["_line"].iloc[i]), column=cb.weight)
            bad = weights <= 0
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ImportValidationError(file, f"poids nul ou négatif ({frame[cb.weight].iloc[i]}).",
                                            line=int(frame["_line"].iloc[i]), column=cb.weight)
        # Answers.
        answers = []
        for name, var in cb.variables.items():
            values = frame[name]
            answered = ~values.isin(missing)
            if var.kind == "categorical":
                unknown = answered & ~values.isin(var.modalities.keys())
                if unknown.any():
                    i = int(np.flatnonzero(unknown.to_numpy())[0])
                    allowed = ", ".join(f"{k} ({v})" for k, v in list(var.modalities.items())[:12])
                    raise ImportValidationError(
                        file, f"modalité « {values.iloc[i]} » inconnue pour « {var.label} » ; modalités du dictionnaire : "
                        f"{allowed}{'…' if len(var.modalities) > 12 else ''}.", line=int(frame["_line"].iloc[i]), column=name)
            elif var.kind == "numeric":
                subset = frame.loc[answered.to_numpy(), [name, "_line"]]
                if len(subset):
                    numbers, status = parse_numbers(subset, name, file, decimal_comma=cb.decimal_comma)
                    if (status != "ok").any():
                        i = int(np.flatnonzero(status != "ok")[0])
                        raise ImportValidationError(file, f"valeur « {subset[name].iloc[i]} » non numérique.",
                                                    line=int(subset["_line"].iloc[i]), column=name)
                    values = values.copy()
                    values.loc[answered] = [repr(float(x)) if not float(x).is_integer() else str(int(x)) for x in numbers]
            kept = answered.to_numpy()
            answers.append(pd.DataFrame({"respondent": frame[cb.respondent].to_numpy()[kept], "variable": name,
                                         "answer": values.to_numpy()[kept]}))
        for role, col in cb.design.items():
            if col in cb.variables:
                continue
            values = frame[col]
            empty = values.isin(missing)
            if empty.any():
                i = int(np.flatnonzero(empty.to_numpy())[0])
                raise ImportValidationError(file, f"valeur du plan de sondage ({role}) manquante.",
                                            line=int(frame["_line"].iloc[i]), column=col)
            if role == "fpc":
                numbers, status = parse_numbers(frame, col, file, decimal_comma=cb.decimal_comma)
                if (numbers <= 0).any():
                    i = int(np.flatnonzero(numbers <= 0)[0])
                    raise ImportValidationError(file, "taille de population (fpc) nulle ou négative.",
                                                line=int(frame["_line"].iloc[i]), column=col)
            answers.append(pd.DataFrame({"respondent": frame[cb.respondent].to_numpy(), "variable": col, "answer": values.to_numpy()}))
        # Destinations per motive.
        destinations = []
        external = set(cb.external_destinations)
        for motive, cols in cb.motives.items():
            for mention, col in enumerate(cols, start=1):
                values = frame[col]
                given = ~values.isin(missing)
                unknown = given & ~values.isin(known) & ~values.isin(external)
                if unknown.any():
                    i = int(np.flatnonzero(unknown.to_numpy())[0])
                    raise ImportValidationError(
                        file, f"destination « {values.iloc[i]} » ({MOTIVES[motive].lower()}) inconnue : ni commune du "
                        f"référentiel (COG {self.cog}), ni destination extérieure déclarée dans le dictionnaire "
                        "(external_destinations).", line=int(frame["_line"].iloc[i]), column=col)
                kept = given.to_numpy()
                destinations.append(pd.DataFrame({"respondent": frame[cb.respondent].to_numpy()[kept], "motive": motive,
                                                  "mention": mention, "destination": values.to_numpy()[kept]}))
        report.advance(len(frame))
        self.tables = self._tables(wh, frame, weights, answers, destinations)
        return Batch()

    def _tables(self, wh, frame, weights, answers, destinations) -> dict[str, pd.DataFrame]:
        cb = self.codebook
        survey = cb.survey
        epci = wh.query_df(
            "SELECT child_code AS commune, min(parent_code) AS epci FROM membership WHERE cog = ? AND child_level = 'commune' "
            "AND parent_level = 'epci' GROUP BY child_code", (self.cog,))
        epci_of = dict(zip(epci["commune"], epci["epci"]))
        respondents = pd.DataFrame({
            "survey": survey,
            "respondent": frame[cb.respondent].to_numpy(),
            "commune": frame[cb.commune].to_numpy(),
            "epci": [epci_of.get(c) for c in frame[cb.commune]],
            "design_weight": weights if weights is not None else np.full(len(frame), np.nan),
            "line": frame["_line"].astype(int).to_numpy(),
        })
        roles = {v: f"profil:{k}" for k, v in cb.profile.items()}
        roles.update({v: f"plan:{k}" for k, v in cb.design.items()})
        variables, modalities = [], []
        names = list(cb.variables) + [c for c in cb.design.values() if c not in cb.variables]
        for position, name in enumerate(names, start=1):
            var = cb.variables.get(name)
            variables.append({"survey": survey, "variable": name, "label": var.label if var else name,
                              "kind": var.kind if var else "text", "role": roles.get(name), "position": position})
            if var is not None:
                for rank, (code, label) in enumerate(var.modalities.items(), start=1):
                    modalities.append({"survey": survey, "variable": name, "code": code, "label": label, "position": rank})
        answer = pd.concat(answers, ignore_index=True) if answers else pd.DataFrame(columns=["respondent", "variable", "answer"])
        dest = pd.concat(destinations, ignore_index=True) if destinations else pd.DataFrame(columns=["respondent", "motive", "mention", "destination"])
        return {
            "survey": pd.DataFrame([{
                "id": survey, "title": cb.title, "producer": cb.producer, "vintage": self.vintage(),
                "population": cb.population, "territory": cb.territory, "cog": int(self.cog), "respondents": len(frame),
                "synthetic": bool(cb.synthetic), "codebook": cb.text}]),
            "survey_variable": pd.DataFrame(variables, columns=["survey", "variable", "label", "kind", "role", "position"]),
            "survey_modality": pd.DataFrame(modalities, columns=["survey", "variable", "code", "label", "position"]),
            "survey_respondent": respondents,
            "survey_answer": answer.assign(survey=survey)[["survey", "respondent", "variable", "answer"]],
            "survey_destination": dest.assign(survey=survey)[["survey", "respondent", "motive", "mention", "destination"]],
        }


@dataclass
class SurveyImport:
    survey: str
    source_id: int
    unchanged: bool
    respondents: int
    rows: dict[str, int]


def import_survey(wh: Warehouse, data: Path | str, codebook: Path | str | Codebook, report: Reporter | None = None,
                  **options: Any) -> SurveyImport:
    """Validate the whole file, then write the survey in one transaction (replacing an earlier import of it)."""
    ensure_schema(wh)
    importer = SurveyImporter(data, codebook, **options)
    importer.attached = True
    with wh.transaction():
        importer.prepare(wh)
        old = [int(r[0]) for r in wh.query("SELECT id FROM source WHERE dataset = ?", (importer.dataset(),))]
        result = run_import(wh, importer, report)
        if result.unchanged:
            n = wh.query("SELECT respondents FROM survey WHERE id = ?", (importer.codebook.survey,))
            return SurveyImport(importer.codebook.survey, result.source_id, True, int(n[0][0]) if n else 0, {})
        delete_sources(wh, SURVEY_TABLES, old)
        rows = {}
        for table, frame in importer.tables.items():
            rows[table] = wh.insert_frame(table, frame.assign(source_id=result.source_id))
        total = sum(rows.values())
        wh.execute("UPDATE source SET rows = ? WHERE id = ?", (total, result.source_id))
    return SurveyImport(importer.codebook.survey, result.source_id, False, len(importer.tables["survey_respondent"]), rows)
