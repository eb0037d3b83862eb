"""Custom territories declared in a configuration file as unions of official ones (PMA = CALL + CAHC + CABBALR…).

For every COG vintage where all members exist, the importer writes the territory, a membership from each member
to it, and a membership from each commune of the members to it (weight = the commune's weight in its member), so
that aggregation from communes works the same for official and custom territories.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml

from vigie.errors import ImportValidationError
from vigie.progress import Reporter
from vigie.sources.base import Batch, Importer
from vigie.sources.cog_referential import MEMBERSHIP_COLUMNS, TERRITORY_COLUMNS
from vigie.warehouse import Warehouse

CODE = re.compile(r"^[A-Z0-9_]{2,30}$")
LEVEL = re.compile(r"^[a-z_]{2,30}$")
OFFICIAL_LEVELS = {"commune", "iris", "qpv", "epci", "departement", "region", "zone_emploi"}


def load_declarations(path: Path) -> list[dict]:
    """The `territoires` list of a configuration file; an unreadable file is an error naming its line."""
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ImportValidationError(path.name, f"YAML illisible ({getattr(exc, 'problem', exc)}).",
                                    line=mark.line + 1 if mark else None) from None
    entries = (config or {}).get("territoires") if isinstance(config, dict) else None
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise ImportValidationError(path.name, "une liste « territoires » non vide est attendue.", column="territoires")
    return entries


class CustomTerritoriesImporter(Importer):
    kind = "territoires"
    title = "Territoires personnalisés (configuration)"
    producer = "Configuration de l'observatoire"
    licence = "Licence Ouverte / Etalab 2.0"

    def dataset(self) -> str:
        return f"territoires:{self.path.stem}"

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        file = self.path.name
        entries = load_declarations(self.path)
        territories, memberships, seen = [], [], set()
        for i, entry in enumerate(entries, start=1):
            code, level, name, union = (entry.get(k) for k in ("code", "niveau", "nom", "union"))
            where = f"territoire n°{i}"
            if not isinstance(code, str) or not CODE.match(code):
                raise ImportValidationError(file, f"{where} : code absent ou mal formé (majuscules, chiffres, _).", column="code")
            if code in seen:
                raise ImportValidationError(file, f"{where} : code « {code} » déclaré deux fois.", column="code")
            seen.add(code)
            if not isinstance(level, str) or not LEVEL.match(level) or level in OFFICIAL_LEVELS:
                raise ImportValidationError(file, f"{where} : niveau « {level} » invalide (un niveau officiel ne peut être redéfini).", column="niveau")
            if not name:
                raise ImportValidationError(file, f"{where} : nom absent.", column="nom")
            if not isinstance(union, dict) or not union.get("codes") or not union.get("niveau"):
                raise ImportValidationError(file, f"{where} : « union » doit donner un niveau et une liste de codes.", column="union")
            member_level = union["niveau"]
            member_codes = [str(c) for c in union["codes"]]
            built = []
            for cog in wh.cogs(member_level):
                present = {r[0] for r in wh.query(
                    "SELECT code FROM territory WHERE level = ? AND cog = ? AND code IN (" + ", ".join("?" * len(member_codes)) + ")",
                    [member_level, cog, *member_codes])}
                if set(member_codes) - present:
                    continue
                built.append(cog)
                territories.append((level, code, cog, name))
                memberships += [(cog, member_level, m, level, code, 1.0) for m in member_codes]
                communes = wh.query(
                    "SELECT child_code, weight FROM membership WHERE cog = ? AND child_level = 'commune' AND parent_level = ? "
                    "AND parent_code IN (" + ", ".join("?" * len(member_codes)) + ")",
                    [cog, member_level, *member_codes])
                if member_level != "commune":
                    memberships += [(cog, "commune", c, level, code, float(w)) for c, w in communes]
            if not built:
                unknown = [c for c in member_codes if not wh.query("SELECT 1 FROM territory WHERE level = ? AND code = ?", (member_level, c))]
                raise ImportValidationError(
                    file,
                    f"{where} ({code}) : " + (f"membres inconnus de l'entrepôt : {', '.join(unknown)}." if unknown
                                              else "ses membres n'existent ensemble à aucun millésime du COG."),
                    column="union",
                )
            self.warn(f"{name} : construit pour les COG {built[0]} à {built[-1]} ({len(built)} millésimes).")
        batch = Batch()
        batch.add("territory", pd.DataFrame(territories, columns=["level", "code", "cog", "name"])[TERRITORY_COLUMNS])
        batch.add("membership", pd.DataFrame(memberships, columns=MEMBERSHIP_COLUMNS).drop_duplicates(
            ["cog", "child_level", "child_code", "parent_level", "parent_code"]))
        return batch


class CustomContoursImporter(Importer):
    """Contours of the custom territories of a configuration file, dissolved from their communes' contours."""

    kind = "contours-territoires"
    title = "Contours des territoires personnalisés (union des communes)"
    producer = "Vigie, d'après les contours des communes"
    licence = "Licence Ouverte / Etalab 2.0"

    def dataset(self) -> str:
        return f"contours-territoires:{self.path.stem}"

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        from vigie.sources.contours import dissolve_contours

        levels = sorted({str(e.get("niveau")) for e in load_declarations(self.path)})
        with_contours = [int(r[0]) for r in wh.query(
            "SELECT DISTINCT cog FROM territory_geometry WHERE level = 'commune' ORDER BY cog")]
        if not with_contours:
            raise ImportValidationError(self.path.name, "aucun contour de commune dans l'entrepôt : importez-les d'abord.")
        batch = Batch()
        for cog in with_contours:
            for level in levels:
                frame = dissolve_contours(wh, level, cog)
                for code in frame.attrs.get("incomplete", []):
                    self.warn(f"{level} {code} (COG {cog}) : contour non calculé, une commune n'a pas de contour.")
                batch.add("territory_geometry", frame)
        return batch
