"""The survey's data dictionary ("dictionnaire des variables"), a YAML file written by the analyst.

    survey: usages_2026                     # identifier (lower case, digits, _ or -)
    title: Enquête usages et pratiques du territoire 2026
    producer: Agence d'urbanisme de l'Artois
    licence: Licence Ouverte / Etalab 2.0
    vintage: "2026"
    population: Habitants de 15 ans ou plus du Pôle Métropolitain de l'Artois
    synthetic: false                        # true for generated demo data
    territory: PMA                          # study territory (custom territory code): leakage = trips leaving it
    cog: 2026                               # geography vintage of the commune codes (default: the latest)
    separator: ";"                          # CSV only (default ","); `sheet:` names the XLSX sheet
    encoding: utf-8
    decimal_comma: false                    # true when numbers are written 12,5
    respondent: id                          # respondent identifier column
    commune: commune                        # home commune (INSEE code)
    weight: poids                           # design weight column (optional)
    design: {strata: strate}                # optional: strata, cluster, fpc columns
    profile: {sex: sexe, age_group: age, csp: csp}   # variables matching census margins (optional)
    missing_values: ["", "NSP"]             # answers meaning "no answer"
    variables:
      sexe: {label: Sexe, modalities: {"1": Homme, "2": Femme}}
      age: {label: Tranche d'âge, modalities: {"15-29": 15 à 29 ans, …}}
      nb_sorties: {label: Sorties par mois, type: numeric}
    motives:                                # destination columns per motive (commune codes)
      loisirs: [dest_loisirs_1, dest_loisirs_2]
      sport: dest_sport
    external_destinations:                  # destinations outside the warehouse's referential: a name, or
      "59350": Lille                        # a name and a WGS84 position for the flow maps:
      "59009": {name: Villeneuve-d'Ascq, lon: 3.1417, lat: 50.6233}

Quote modality codes in YAML ("01", not 01). Census margins (`margins.census_margins`) expect INSEE codes for the
profile variables: sex "1"/"2", age groups "15-29", "30-44", "45-59", "60-74", "75+", socio-professional group
"1" to "8" (CS1 of the population of 15 or more).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vigie.errors import ImportValidationError

MOTIVES: dict[str, str] = {
    "loisirs": "Loisirs",
    "sport": "Sport",
    "culture": "Culture",
    "sante": "Santé de proximité",
    "demarches": "Démarches administratives",
    "achats_quotidiens": "Achats quotidiens",
    "achats_occasionnels": "Achats occasionnels",
}

KINDS = {"categorical": "categorical", "qualitative": "categorical", "numeric": "numeric", "numerique": "numeric",
         "numérique": "numeric", "text": "text", "texte": "text"}
PROFILE_ROLES = ("sex", "age_group", "csp")
DESIGN_ROLES = ("strata", "cluster", "fpc")
SURVEY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{1,59}$")
DEFAULT_MISSING = ("",)


@dataclass
class Variable:
    name: str
    label: str
    kind: str  # categorical, numeric, text
    modalities: dict[str, str] = field(default_factory=dict)


@dataclass
class Codebook:
    survey: str
    title: str
    respondent: str
    commune: str
    variables: dict[str, Variable]
    motives: dict[str, list[str]]
    producer: str = "Non précisé"
    licence: str | None = None
    vintage: str | None = None
    population: str | None = None
    synthetic: bool = False
    territory: str | None = None
    cog: int | None = None
    separator: str = ","
    encoding: str = "utf-8"
    decimal_comma: bool = False
    sheet: str | int | None = None
    weight: str | None = None
    design: dict[str, str] = field(default_factory=dict)
    profile: dict[str, str] = field(default_factory=dict)
    missing_values: tuple[str, ...] = DEFAULT_MISSING
    external_destinations: dict[str, str] = field(default_factory=dict)
    # WGS84 (lon, lat) of the external destinations given with a position (flow maps place them there).
    external_positions: dict[str, tuple[float, float]] = field(default_factory=dict)
    text: str = ""
    file: str = "dictionnaire.yaml"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def destination_columns(self) -> list[str]:
        return [c for cols in self.motives.values() for c in cols]

    def required_columns(self) -> list[str]:
        """Columns the data file must have, in a stable order, without repeats."""
        cols = [self.respondent, self.commune]
        if self.weight:
            cols.append(self.weight)
        cols += list(self.design.values()) + list(self.variables) + self.destination_columns()
        return list(dict.fromkeys(cols))

    def modality_label(self, variable: str, code: str) -> str:
        var = self.variables.get(variable)
        return var.modalities.get(code, code) if var else code


def _lines(text: str) -> dict[tuple, int]:
    """Line (1-based) of every mapping key of the YAML document, by its path of keys."""
    out: dict[tuple, int] = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return out

    def walk(node, path):
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                p = path + (key.value,)
                out[p] = key.start_mark.line + 1
                walk(value, p)

    walk(root, ())
    return out


def load_codebook(path: Path | str | None = None, *, text: str | None = None, file: str | None = None) -> Codebook:
    """Read and check a codebook from a file, or from its `text` (as stored in the warehouse)."""
    if text is None:
        path = Path(path)  # type: ignore[arg-type]
        file = file or path.name
        if not path.exists():
            raise ImportValidationError(file, f"dictionnaire des variables introuvable ({path}).")
        text = path.read_text(encoding="utf-8")
    file = file or "dictionnaire.yaml"
    lines = _lines(text)

    def fail(problem: str, *keys: Any) -> None:
        line = None
        for depth in range(len(keys), 0, -1):
            line = lines.get(tuple(str(k) for k in keys[:depth]))
            if line:
                break
        raise ImportValidationError(file, problem, line=line, column=".".join(str(k) for k in keys) or None)

    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ImportValidationError(file, f"YAML illisible ({getattr(exc, 'problem', exc)}).",
                                    line=mark.line + 1 if mark else None) from None
    if not isinstance(raw, dict):
        raise ImportValidationError(file, "le dictionnaire doit être un tableau de clés YAML (survey, respondent, variables…).")

    def text_key(key: str, required: bool = True) -> str | None:
        value = raw.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                fail(f"clé « {key} » obligatoire absente.", key)
            return None
        if not isinstance(value, (str, int)):
            fail(f"« {key} » doit être un texte.", key)
        return str(value).strip()

    survey = text_key("survey")
    if not SURVEY_ID.match(survey):
        fail(f"identifiant d'enquête « {survey} » invalide (minuscules, chiffres, _ ou -).", "survey")
    respondent = text_key("respondent")
    commune = text_key("commune")

    variables: dict[str, Variable] = {}
    declared = raw.get("variables") or {}
    if not isinstance(declared, dict):
        fail("« variables » doit associer à chaque colonne son libellé et ses modalités.", "variables")
    for name, spec in declared.items():
        name = str(name)
        if not isinstance(spec, dict):
            fail(f"variable « {name} » : un libellé (label) et des modalités ou un type sont attendus.", "variables", name)
        label = spec.get("label") or spec.get("libelle") or spec.get("libellé")
        if not label:
            fail(f"variable « {name} » : libellé (label) absent.", "variables", name)
        modalities = spec.get("modalities", spec.get("modalites"))
        kind_raw = str(spec.get("type") or ("categorical" if modalities is not None else "")).lower()
        if not kind_raw:
            fail(f"variable « {name} » : donnez ses modalités ou son type (numeric, text).", "variables", name)
        kind = KINDS.get(kind_raw)
        if kind is None:
            fail(f"variable « {name} » : type « {kind_raw} » inconnu (categorical, numeric ou text).", "variables", name, "type")
        mods: dict[str, str] = {}
        if kind == "categorical":
            if not isinstance(modalities, dict) or not modalities:
                fail(f"variable « {name} » : modalités absentes (code: libellé).", "variables", name)
            for code, mlabel in modalities.items():
                code_s = str(code).strip()
                if code_s in mods:
                    fail(f"variable « {name} » : modalité « {code_s} » déclarée deux fois.", "variables", name)
                mods[code_s] = str(mlabel if mlabel is not None else code_s)
        variables[name] = Variable(name, str(label), kind, mods)

    motives: dict[str, list[str]] = {}
    declared_motives = raw.get("motives") or {}
    if not isinstance(declared_motives, dict):
        fail("« motives » doit associer à chaque motif ses colonnes de destination.", "motives")
    for motive, cols in declared_motives.items():
        motive = str(motive)
        if motive not in MOTIVES:
            fail(f"motif « {motive} » inconnu ; motifs possibles : {', '.join(MOTIVES)}.", "motives", motive)
        cols = [cols] if isinstance(cols, str) else cols
        if not isinstance(cols, list) or not cols or not all(isinstance(c, str) and c.strip() for c in cols):
            fail(f"motif « {motive} » : une colonne ou une liste de colonnes de destination est attendue.", "motives", motive)
        motives[motive] = [c.strip() for c in cols]
    all_dest = [c for cols in motives.values() for c in cols]
    if len(set(all_dest)) != len(all_dest):
        dup = next(c for c in all_dest if all_dest.count(c) > 1)
        fail(f"la colonne de destination « {dup} » sert à plusieurs motifs.", "motives")
    clash = set(all_dest) & (set(variables) | {respondent, commune})
    if clash:
        fail(f"la colonne « {sorted(clash)[0]} » est à la fois une destination et une autre variable.", "motives")

    def mapping(key: str, allowed: tuple[str, ...]) -> dict[str, str]:
        value = raw.get(key) or {}
        if not isinstance(value, dict):
            fail(f"« {key} » doit être un tableau de clés ({', '.join(allowed)}).", key)
        out = {}
        for role, col in value.items():
            if role not in allowed:
                fail(f"« {key} » : clé « {role} » inconnue ({', '.join(allowed)}).", key, role)
            if col:
                out[str(role)] = str(col)
        return out

    design = mapping("design", DESIGN_ROLES)
    profile = mapping("profile", PROFILE_ROLES)
    for role, col in profile.items():
        if col not in variables or variables[col].kind != "categorical":
            fail(f"profil « {role} » : « {col} » doit être une variable qualitative déclarée.", "profile", role)
    external = raw.get("external_destinations") or {}
    if not isinstance(external, dict):
        fail("« external_destinations » doit associer un nom à chaque code de destination.", "external_destinations")
    external_names, external_positions = {}, {}
    for code, entry in external.items():
        code = str(code)
        if isinstance(entry, dict):
            name = entry.get("name", entry.get("nom"))
            if not isinstance(name, (str, int)) or not str(name).strip():
                fail(f"destination extérieure « {code} » : nom (name) absent.", "external_destinations", code)
            lon, lat = entry.get("lon"), entry.get("lat")
            if lon is not None or lat is not None:
                try:
                    lon, lat = float(lon), float(lat)
                except (TypeError, ValueError):
                    fail(f"destination extérieure « {code} » : lon et lat doivent être deux nombres (degrés WGS84).",
                         "external_destinations", code)
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    fail(f"destination extérieure « {code} » : position hors limites (lon entre -180 et 180, lat entre -90 et 90).",
                         "external_destinations", code)
                external_positions[code] = (lon, lat)
            external_names[code] = str(name).strip()
        else:
            external_names[code] = str(entry)
    missing = raw.get("missing_values", list(DEFAULT_MISSING))
    missing = [missing] if isinstance(missing, str) else missing
    if not isinstance(missing, list):
        fail("« missing_values » doit être une liste.", "missing_values")
    cog = raw.get("cog")
    if cog is not None:
        try:
            cog = int(cog)
        except (TypeError, ValueError):
            fail(f"« cog » doit être une année (reçu « {cog} »).", "cog")
    synthetic = _flag(raw.get("synthetic", False))
    separator = raw.get("separator", ",")
    if not isinstance(separator, str) or len(separator) != 1:
        fail("« separator » doit être un caractère (« , », « ; », tabulation…).", "separator")
    weight = text_key("weight", required=False)
    return Codebook(
        survey=survey, title=text_key("title", False) or survey, respondent=respondent, commune=commune,
        variables=variables, motives=motives, producer=text_key("producer", False) or "Non précisé",
        licence=text_key("licence", False), vintage=text_key("vintage", False), population=text_key("population", False),
        synthetic=bool(synthetic), territory=text_key("territory", False), cog=cog, separator=separator,
        encoding=str(raw.get("encoding") or "utf-8"), decimal_comma=_flag(raw.get("decimal_comma", False)), sheet=raw.get("sheet"), weight=weight, design=design,
        profile=profile, missing_values=tuple(str(m).strip() for m in missing),
        external_destinations=external_names, external_positions=external_positions, text=text, file=file)


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "oui", "yes", "1", "vrai"}
    return bool(value)
