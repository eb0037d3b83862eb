"""The survey in the observatory: its JSON API under `/api/enquete/…` and its page `/enquete`.

Everything is computed by the module (`flows.FlowReader`, `estimates.Design`, `interviews`, the stored weighting
report); this file only chooses, checks the parameters, adds the positions the maps need (`places`) and shapes
the answers. The app never writes the warehouse, so a survey, its weights and every answer built from them are
kept in memory once computed (answers with an ETag, like the engine's).

- `GET /api/enquete` — the surveys of the warehouse;
- `GET /api/enquete/{enquete}` — one survey: motives, variables, weightings, interview profiles;
- `GET /api/enquete/{enquete}/motifs` — per motive: who practises it, first destination, leakage;
- `GET /api/enquete/{enquete}/motifs/{motif}` — flows home → destination with their intervals, attraction of the
  poles, catchment areas, leakage outside the study territory, and a point for every place of the flow map;
- `GET /api/enquete/{enquete}/motifs/{motif}/poles/{pole}` — a pole's catchment: for every home commune, the share
  of its trips going to the pole, and whether the pole is its first destination;
- `GET /api/enquete/{enquete}/estimations` — weighted shares or mean of a variable, overall or by group, 95 %
  intervals, small cells flagged, Rao–Scott test;
- `GET /api/enquete/{enquete}/ponderation` — the weighting report (weights, effective size, design effect, margins);
- `GET /api/enquete/{enquete}/entretiens` — interview themes counted by profile, with their quotations.

Unknown survey, motive, pole, weighting or theme: 404 in French; unusable parameters: 422 in French.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from vigie.errors import NotFoundError, VigieError
from vigie.modules.enquete.calibration import WeightingReport
from vigie.modules.enquete.codebook import MOTIVES
from vigie.modules.enquete.estimates import MIN_RESPONDENTS, Design, EstimationError
from vigie.modules.enquete.flows import ORIGIN_LEVELS, FlowReader
from vigie.modules.enquete.places import place_points
from vigie.modules.enquete.survey import Survey, load_survey, surveys
from vigie.modules.enquete.weighting import DEFAULT_SCHEME
from vigie.publish.context import AppContext, Hidden, visible
from vigie.publish.json_values import dumps, number, records
from vigie.publish.responses import LRU, Body, errors, respond

NAVIGATION = [("enquete", "/enquete", "Enquête")]

JSON = "application/json"
# The OpenAPI tag of the survey's endpoints (for the app's list of tags).
TAG = {"name": "enquête", "description": "Enquête usages et pratiques du territoire : flux domicile → pôles par motif, "
                                         "zones de chalandise, évasion, estimations pondérées avec intervalles de "
                                         "confiance, bilan de la pondération, thèmes et citations des entretiens."}
NO_WEIGHTING = "aucune"  # `schema=aucune`: the design weights
GROUPS_OUTSIDE_CODEBOOK = {"epci": "EPCI de résidence", "commune": "Commune de résidence"}
ERRORS = errors(404, 422)
SCHEME = Query(None, description="Pondération (défaut : « calage » ; « aucune » : poids de sondage).")
THRESHOLD = Query(MIN_RESPONDENTS, ge=1, le=10_000,
                  description="Nombre de répondants sous lequel une estimation est signalée peu fiable (`fragile`).")
ORIGIN = Query("commune", description="Origine des flux : commune ou epci (de résidence).")


class InvalidParameter(VigieError):
    """A parameter the survey cannot use (unknown variable, grouping, origin…): 422 with a French message."""

    http_status = 422


def router(context: AppContext) -> APIRouter:
    access = context.access
    datasets: dict[str, str] = {}  # survey -> dataset of its source (read once: the warehouse is read-only)

    def survey_datasets() -> dict[str, str]:
        if not datasets:
            with access.use() as wh:
                frame = surveys(wh)
                found = dict(wh.query("SELECT id, dataset FROM source")) if len(frame) else {}
            datasets.update({str(s): found.get(src, "") for s, src in zip(frame["id"], frame["source_id"])})
            datasets.setdefault("", "")  # read, even without any survey
        return datasets

    def hidden_surveys(seen: Hidden) -> set[str]:
        """Surveys whose source dataset the viewer may not see (the visibility rule, issue 9)."""
        return {s for s, dataset in survey_datasets().items() if s and dataset in seen.datasets}

    def guard(request: Request) -> None:
        """Every `/api/enquete/{enquete}/…` route: a hidden survey answers exactly as a missing one (404)."""
        survey_id = request.path_params.get("enquete")
        if survey_id is None or not any(survey_datasets()):  # no survey at all: the route says so itself
            return
        hidden = hidden_surveys(visible(request))
        if survey_id in hidden or survey_id not in survey_datasets():
            known = ", ".join(s for s in survey_datasets() if s and s not in hidden) or "aucune"
            raise NotFoundError(f"Aucune enquête « {survey_id} » dans l'entrepôt (enquêtes : {known}) : "
                                "lancez « vigie enquete importer ».")

    api = APIRouter(dependencies=[Depends(guard)])
    answers = LRU(512)
    loaded: dict[str, Survey] = {}
    designs: dict[tuple, Design] = {}  # per survey and weighting: the expensive part of a reader
    readers = LRU(64)  # per threshold of respondents too (any number may be asked: bounded)
    lock = threading.RLock()  # one computation at a time: the designs cache their intermediate matrices

    # ------------------------------------------------------------------ shared steps
    def survey(survey_id: str) -> Survey:
        with lock:
            if survey_id not in loaded:
                with access.use() as wh:
                    loaded[survey_id] = load_survey(wh, survey_id)
            return loaded[survey_id]

    def scheme_of(data: Survey, schema: str | None) -> str | None:
        """The weighting to use: the one asked, else « calage » (or the first stored), else the design weights."""
        if schema == NO_WEIGHTING:
            return None
        with access.use():
            known = list(data.schemes()["scheme"])
        if schema:
            if schema not in known:
                raise NotFoundError(f"L'enquête « {data.id} » n'a pas de pondération « {schema} » (pondérations : "
                                    f"{', '.join(known) or 'aucune'} ; « {NO_WEIGHTING} » pour les poids de sondage).")
            return schema
        if DEFAULT_SCHEME in known:
            return DEFAULT_SCHEME
        return known[0] if known else None

    def design(data: Survey, scheme: str | None) -> Design:
        with lock:
            if (data.id, scheme) not in designs:
                with access.use():
                    designs[(data.id, scheme)] = data.design(scheme)
            return designs[(data.id, scheme)]

    def reader(data: Survey, scheme: str | None, threshold: int) -> FlowReader:
        def build() -> FlowReader:
            with lock, access.use():
                return FlowReader(data, scheme, design=design(data, scheme), min_count=threshold)
        return readers.get((data.id, scheme, threshold), build)

    def motive_of(data: Survey, motif: str) -> str:
        if motif not in data.codebook.motives:
            offered = ", ".join(f"{m} ({MOTIVES[m]})" for m in data.codebook.motives)
            raise NotFoundError(f"Motif « {motif} » inconnu pour l'enquête « {data.id} » : motifs : {offered}.")
        return motif

    def head(data: Survey, scheme: str | None) -> dict[str, Any]:
        """What every answer about a survey repeats: which survey, which weights, whether it is fictitious."""
        from vigie.demo.synthetic import DEMO_NOTICE

        return {"enquete": data.id, "titre": data.title, "ponderation": scheme or NO_WEIGHTING,
                "synthetic": data.synthetic, "mention": DEMO_NOTICE if data.synthetic else None}

    def cached(request: Request, key: tuple, build) -> Response:
        def body() -> Body:
            with lock:
                return Body(dumps(build()))
        return respond(request, answers.get(key, body), JSON, cache_control="no-cache")

    # ------------------------------------------------------------------ surveys
    @api.get("/api/enquete", tags=[TAG["name"]], summary="Enquêtes de l'entrepôt",
             description="Chaque enquête importée : identifiant, titre, millésime, nombre de répondants, nombre de "
                         "pondérations enregistrées, territoire d'étude, et s'il s'agit de données fictives de "
                         "démonstration (`synthetic`).")
    def survey_list(request: Request, seen: Hidden = Depends(visible)) -> Response:
        hidden = hidden_surveys(seen)

        def build() -> dict[str, Any]:
            with access.use() as wh:
                frame = surveys(wh)
            frame = frame[~frame["id"].isin(hidden)]
            items = records(frame[["id", "title", "vintage", "respondents", "synthetic", "cog", "territory", "weightings"]])
            return {"count": len(items), "enquetes": items}
        return cached(request, ("surveys", frozenset(hidden)), build)

    @api.get("/api/enquete/{enquete}", tags=[TAG["name"]], summary="Une enquête",
             description="Description de l'enquête : producteur, population, territoire d'étude, motifs (avec le "
                         "nombre de répondants qui citent une destination), variables et leurs modalités, variables de "
                         "croisement possibles, pondérations enregistrées, profils des entretiens.",
             responses=ERRORS)
    def survey_detail(request: Request, enquete: str) -> Response:
        data = survey(enquete)

        def build() -> dict[str, Any]:
            cb = data.codebook
            with access.use() as wh:
                schemes = records(data.schemes().astype({"created_at": str}))
                territory = None
                if data.territory:
                    place = wh.find_territory(data.territory)
                    territory = {"level": place.level, "code": place.code, "name": place.name}
                interviews = _interview_profiles(wh, data.id)
            dest = data.destinations
            motives = []
            for m in cb.motives:
                mine = dest[dest["motive"] == m]
                motives.append({"id": m, "label": MOTIVES[m], "repondants": int(mine["respondent"].nunique()),
                                "destinations": int(mine["destination"].nunique())})
            variables = [{"id": v.name, "label": v.label, "kind": v.kind,
                          "modalites": [{"code": c, "label": lab} for c, lab in v.modalities.items()]}
                         for v in cb.variables.values() if v.kind in ("categorical", "numeric")]
            return {**head(data, scheme_of(data, None)), "producteur": cb.producer, "millesime": cb.vintage,
                    "population": cb.population, "licence": cb.licence, "repondants": data.n, "cog": data.cog,
                    "territoire": territory, "motifs": motives, "variables": variables,
                    "croisements": _groupings(data), "ponderations": schemes, "entretiens": interviews}
        return cached(request, ("survey", enquete), build)

    # ------------------------------------------------------------------ flows
    @api.get("/api/enquete/{enquete}/motifs", tags=[TAG["name"]], summary="Synthèse par motif",
             description="Pour chaque motif : part des personnes qui citent une destination (intervalle de confiance à "
                         "95 %), première destination et sa part des déplacements, évasion hors du territoire d'étude.",
             responses=ERRORS)
    def motives(request: Request, enquete: str,
                schema: str | None = SCHEME,
                seuil: int = THRESHOLD) -> Response:
        data = survey(enquete)
        scheme = scheme_of(data, schema)

        def build() -> dict[str, Any]:
            flows_reader = reader(data, scheme, seuil)
            summary = flows_reader.summary()
            rows = records(summary)
            for row in rows:  # the logit interval of a share, as for every other share
                row["pratiquants_ic_bas"], row["pratiquants_ic_haut"] = flows_reader.design.proportion_interval(
                    row["pratiquants"], row["pratiquants_erreur_type"])
            return {**head(data, scheme), "seuil": seuil, "motifs": rows}
        return cached(request, ("motives", enquete, scheme, seuil), build)

    @api.get("/api/enquete/{enquete}/motifs/{motif}", tags=[TAG["name"]], summary="Flux, pôles et évasion d'un motif",
             description="Pour un motif : chaque flux origine → destination (déplacements pondérés, part des "
                         "déplacements de l'origine et son intervalle de confiance à 95 %, répondants, `fragile` sous "
                         "le seuil), l'attraction de chaque pôle (part de tous les déplacements, intervalle, taille de "
                         "sa zone de chalandise), la zone de chalandise (première destination de chaque origine), "
                         "l'évasion hors du territoire d'étude (ensemble et par EPCI), et un point (longitude, "
                         "latitude) pour chaque lieu à dessiner. `interne` marque les déplacements restés dans "
                         "l'origine.", responses=ERRORS)
    def motive(request: Request, enquete: str, motif: str,
               origine: str = ORIGIN,
               schema: str | None = SCHEME,
               seuil: int = THRESHOLD) -> Response:
        data = survey(enquete)
        motive_of(data, motif)
        origin = _origin(origine)
        scheme = scheme_of(data, schema)

        def build() -> dict[str, Any]:
            flows_reader = reader(data, scheme, seuil)
            poles = _attraction(flows_reader, motif)
            flows = flows_reader.flows(motif, origin)
            catchment = flows_reader.catchment(motif, origin)
            sizes = catchment["pole"].value_counts()
            poles["communes_zone" if origin == "commune" else "origines_zone"] = [int(sizes.get(c, 0)) for c in poles["destination"]]
            flows["interne"] = (flows["origine"] == flows["destination"]).to_numpy()
            leakage = None
            if flows_reader.inside:
                leak = flows_reader.leakage(motif, "epci")
                leakage = {"territoire": flows_reader.territory_name, "ensemble": records(leak.head(1))[0],
                           "par_epci": records(leak.iloc[1:])}
            destinations = set(poles["destination"])
            with access.use() as wh:
                points = place_points(wh, data.codebook, data.cog,
                                      communes=destinations | (set(flows["origine"]) if origin == "commune" else set()),
                                      epcis=set(flows["origine"]) if origin == "epci" else set())
            names = flows_reader.names
            origins = set(flows["origine"])
            places = [{"code": code, "name": names.get(code, code), "lon": points[code][0], "lat": points[code][1],
                       "dans_territoire": code in flows_reader.inside or (origin == "epci" and code in origins)}
                      for code in sorted(points)]
            unplaced = sorted((destinations | set(flows["origine"])) - set(points))
            total = float(flows["deplacements"].sum())
            return {**head(data, scheme), "motif": {"id": motif, "label": MOTIVES[motif]}, "origine": origin,
                    "seuil": seuil, "deplacements": total,
                    "repondants": int(poles.attrs["repondants"]), "poles": records(poles), "flux": records(flows),
                    "chalandise": records(catchment), "evasion": leakage, "lieux": places,
                    "non_places": [{"code": c, "name": names.get(c, c)} for c in unplaced]}
        return cached(request, ("motive", enquete, motif, origin, scheme, seuil), build)

    @api.get("/api/enquete/{enquete}/motifs/{motif}/poles/{pole}", tags=[TAG["name"]],
             summary="Zone de chalandise d'un pôle",
             description="Pour un pôle (code de la destination) et un motif : pour chaque origine, la part de ses "
                         "déplacements qui vont au pôle (intervalle de confiance à 95 %, 0 quand aucun répondant ne le "
                         "cite), sa première destination, et `zone` quand le pôle est cette première destination ; "
                         "l'attraction du pôle (part de tous les déplacements du motif).", responses=ERRORS)
    def pole(request: Request, enquete: str, motif: str, pole: str,
             origine: str = ORIGIN,
             schema: str | None = SCHEME,
             seuil: int = THRESHOLD) -> Response:
        data = survey(enquete)
        motive_of(data, motif)
        origin = _origin(origine)
        scheme = scheme_of(data, schema)

        def build() -> dict[str, Any]:
            flows_reader = reader(data, scheme, seuil)
            poles = _attraction(flows_reader, motif)
            found = poles[poles["destination"] == pole]
            if found.empty:
                top = ", ".join(f"{c} ({n})" for c, n in zip(poles["destination"].head(8), poles["destination_nom"].head(8)))
                raise NotFoundError(f"« {pole} » n'est pas une destination du motif « {MOTIVES[motif]} » dans l'enquête "
                                    f"« {data.id} » ; principaux pôles : {top}.")
            flows = flows_reader.flows(motif, origin)
            catchment = flows_reader.catchment(motif, origin).set_index("origine")
            to_pole = flows[flows["destination"] == pole].set_index("origine")
            rows = []
            for code, group in flows.groupby("origine", sort=True):
                first = catchment.loc[code]
                hit = to_pole.loc[code] if code in to_pole.index else None
                rows.append({
                    "code": code, "name": group["origine_nom"].iloc[0],
                    "part": float(hit["part"]) if hit is not None else 0.0,
                    "ic_bas": number(hit["ic_bas"]) if hit is not None else None,
                    "ic_haut": number(hit["ic_haut"]) if hit is not None else None,
                    "deplacements": float(hit["deplacements"]) if hit is not None else 0.0,
                    "repondants_pole": int(hit["repondants"]) if hit is not None else 0,
                    "repondants_origine": int(group["repondants_origine"].iloc[0]),
                    "fragile": bool(group["fragile"].iloc[0]),
                    "premiere_destination": first["pole"], "premiere_destination_nom": first["pole_nom"],
                    "zone": first["pole"] == pole})
            info = records(found)[0]
            info["origines_zone"] = sum(r["zone"] for r in rows)
            return {**head(data, scheme), "motif": {"id": motif, "label": MOTIVES[motif]}, "origine": origin,
                    "seuil": seuil, "pole": info, "origines": rows}
        return cached(request, ("pole", enquete, motif, pole, origin, scheme, seuil), build)

    # ------------------------------------------------------------------ estimates
    @api.get("/api/enquete/{enquete}/estimations", tags=[TAG["name"]], summary="Estimations pondérées",
             description="Parts pondérées des modalités d'une variable qualitative, ou moyenne d'une variable "
                         "numérique, pour l'ensemble ou par groupe (`par` : epci, commune ou une variable qualitative), "
                         "avec erreur type et intervalle de confiance à 95 % (plan de sondage et calage pris en "
                         "compte) ; `fragile` signale les cellules de moins de `seuil` répondants ; test d'indépendance "
                         "du χ² corrigé de Rao et Scott pour un croisement.", responses=ERRORS)
    def estimates(request: Request, enquete: str,
                  variable: str = Query(..., description="Variable estimée (ex. age, csp, voiture, sorties_mois)."),
                  par: str | None = Query(None, description="Variable de croisement : epci, commune, sexe, age…"),
                  schema: str | None = SCHEME,
                  seuil: int = THRESHOLD) -> Response:
        data = survey(enquete)
        scheme = scheme_of(data, schema)
        var = data.codebook.variables.get(variable)
        if var is None or var.kind not in ("categorical", "numeric"):
            offered = ", ".join(v.name for v in data.codebook.variables.values() if v.kind in ("categorical", "numeric"))
            raise InvalidParameter(f"Paramètre « variable » : « {variable} » n'est pas une variable estimable de l'enquête "
                                   f"« {data.id} » (variables : {offered}).")
        groupings = {g["id"]: g["label"] for g in _groupings(data)}
        if par is not None and (par not in groupings or par == variable):
            raise InvalidParameter(f"Paramètre « par » : « {par} » ne permet pas de croiser « {variable} » "
                                   f"(croisements : {', '.join(g for g in groupings if g != variable)}).")

        def build() -> dict[str, Any]:
            sample = design(data, scheme)
            frame = data.frame
            labels = _group_labels(context, data, par) if par else None
            test = None
            try:
                if var.kind == "numeric":
                    values = frame[variable].to_numpy(dtype=float)
                    if par:
                        table = sample.by(values, frame[par].to_numpy(dtype=object), "mean", min_count=seuil,
                                          group_labels=labels)
                    else:
                        est = sample.mean(values)
                        table = pd.DataFrame([{"groupe": "ensemble", "groupe_libelle": "Ensemble", "n": est.n,
                                               "valeur": est.value, "erreur_type": est.se, "ic_bas": est.ci_low,
                                               "ic_haut": est.ci_high, "fragile": est.n < seuil}])
                else:
                    values = frame[variable].to_numpy(dtype=object)
                    if par:
                        cross = sample.crosstab(values, frame[par].to_numpy(dtype=object), min_count=seuil,
                                               labels=var.modalities, group_labels=labels)
                        table, test = cross.cells, cross.test
                    else:
                        answered = set(frame[variable].dropna())
                        table = sample.shares(values, modalities=[m for m in var.modalities if m in answered],
                                              labels=var.modalities, min_count=seuil)
                        table.insert(0, "groupe", "ensemble")
                        table.insert(1, "groupe_libelle", "Ensemble")
            except EstimationError as exc:
                raise InvalidParameter(f"Estimation impossible : {exc.message}") from None
            return {**head(data, scheme),
                    "variable": {"id": var.name, "label": var.label, "kind": var.kind},
                    "par": {"id": par, "label": groupings[par]} if par else None,
                    "statistique": "moyenne" if var.kind == "numeric" else "part", "seuil": seuil,
                    "lignes": records(table), "fragiles": int(table["fragile"].sum()),
                    "test": _test_json(test)}
        return cached(request, ("estimates", enquete, variable, par, scheme, seuil), build)

    # ------------------------------------------------------------------ weighting
    @api.get("/api/enquete/{enquete}/ponderation", tags=[TAG["name"]], summary="Bilan de la pondération",
             description="Méthode de calage, convergence, étendue et rapport des poids, coefficient de variation, "
                         "taille d'échantillon effective (Kish), effet de plan dû à la pondération, rapports poids "
                         "calés / poids initiaux, et pour chaque marge la cible, le total avant et après calage.",
             responses=ERRORS)
    def weighting(request: Request, enquete: str,
                  schema: str | None = Query(None, description="Pondération (défaut : « calage »).")) -> Response:
        data = survey(enquete)
        scheme = scheme_of(data, schema)
        if scheme is None:
            raise NotFoundError(f"L'enquête « {data.id} » n'a aucune pondération enregistrée : lancez « vigie enquete ponderer ».")

        def build() -> dict[str, Any]:
            with access.use():
                row = data.weighting(scheme)
            stored = json.loads(row["report"])
            margins = stored.pop("margins", None)
            fields = set(WeightingReport.__dataclass_fields__)
            report = WeightingReport(**{k: v for k, v in stored.items() if k in fields},
                                     margins=pd.DataFrame(margins) if margins else None)
            if report.bounds is not None:
                report.bounds = tuple(report.bounds)
            return {**head(data, scheme), "methode": row["method"], "converge": bool(row["converged"]),
                    "iterations": int(row["iterations"]), "date": str(row["created_at"]),
                    "bilan": {k: v for k, v in stored.items() if k != "margins"}, "phrases": report.lines(),
                    "marges": margins or []}
        return cached(request, ("weighting", enquete, scheme), build)

    # ------------------------------------------------------------------ interviews
    @api.get("/api/enquete/{enquete}/entretiens", tags=[TAG["name"]], summary="Thèmes des entretiens",
             description="Pour chaque thème de la grille : nombre et part des entretiens qui l'abordent, pour "
                         "l'ensemble ou par profil (`par` : sexe, age, csp, commune…), et ses citations avec le profil "
                         "de la personne interrogée.", responses=ERRORS)
    def interviews(request: Request, enquete: str,
                   par: str | None = Query(None, description="Profil de comptage : sexe, age, csp, commune…"),
                   theme: str | None = Query(None, description="Ne garder que ce thème.")) -> Response:
        from vigie.modules.enquete.interviews import quotations, theme_counts

        data = survey(enquete)
        with access.use() as wh:
            profiles = _interview_profiles(wh, data.id)
        if profiles["entretiens"] == 0:
            raise NotFoundError(f"Aucun entretien pour l'enquête « {data.id} » : lancez « vigie enquete entretiens ».")
        if par is not None and par not in profiles["profils"]:
            raise InvalidParameter(f"Paramètre « par » : profil « {par} » inconnu (profils : {', '.join(profiles['profils'])}).")

        def build() -> dict[str, Any]:
            with access.use() as wh:
                counts = theme_counts(wh, data.id, par)
                quotes = quotations(wh, data.id, theme)
            if theme is not None:
                counts = counts[counts["theme"] == theme]
            groups = list(dict.fromkeys(counts["groupe"]))
            themes = []
            for theme_id, rows in counts.groupby("theme", sort=False):
                mine = quotes[quotes["theme"] == theme_id]
                themes.append({"theme": theme_id, "label": rows["theme_libelle"].iloc[0],
                               "comptes": records(rows[["groupe", "entretiens", "entretiens_groupe", "part", "extraits"]]),
                               "citations": records(mine[["entretien", "citation", "profil", "commune", "codage"]])})
            return {**head(data, scheme_of(data, None)), "par": par, "groupes": groups,
                    "entretiens": profiles["entretiens"], "themes": themes}
        return cached(request, ("interviews", enquete, par, theme), build)

    # ------------------------------------------------------------------ page
    @api.get("/enquete", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request) -> HTMLResponse:
        hidden = hidden_surveys(visible(request))
        with access.use() as wh:
            frame = surveys(wh)
        items = records(frame[~frame["id"].isin(hidden)][["id", "title", "respondents", "synthetic"]])
        return request.app.state.render(request, "enquete.html", "enquete", "Enquête usages et pratiques — Vigie",
                                        surveys=items, restricted=bool(hidden), config={"surveys": items})

    return api


# ---------------------------------------------------------------------------------------------- helpers
def _origin(value: str) -> str:
    if value not in ORIGIN_LEVELS:
        raise InvalidParameter(f"Paramètre « origine » : « {value} » inconnu (commune ou epci).")
    return value


def _test_json(test) -> dict[str, Any] | None:
    """The Rao–Scott test of a cross-table, with its sentence; a table fixed by the calibration has no test (its
    statistics are null and the sentence says why: `estimates.rao_scott`)."""
    if test is None:
        return None
    return {**{k: number(v) for k, v in test.as_dict().items()}, "phrase": test.sentence()}


def _attraction(flows_reader: FlowReader, motif: str) -> pd.DataFrame:
    """The poles of a motive (`FlowReader.attraction`), with the number of respondents who name a destination."""
    trips = flows_reader.trips(motif)
    practising = int(np.sum(trips.per_respondent > 0))
    if practising == 0:
        raise NotFoundError(f"Aucun déplacement déclaré pour le motif « {MOTIVES[motif]} ».")
    poles = flows_reader.attraction(motif)
    poles.attrs["repondants"] = practising
    return poles


def _groupings(data: Survey) -> list[dict[str, str]]:
    """Variables a table can be split by: the EPCI and commune of residence, and the categorical variables."""
    out = [{"id": k, "label": v} for k, v in GROUPS_OUTSIDE_CODEBOOK.items()]
    out += [{"id": v.name, "label": v.label} for v in data.codebook.variables.values() if v.kind == "categorical"]
    return out


def _group_labels(context: AppContext, data: Survey, variable: str) -> dict[str, str]:
    if variable in GROUPS_OUTSIDE_CODEBOOK:
        with context.access.use() as wh:
            names = wh.query_df("SELECT code, name FROM territory WHERE level = ? AND cog = ?", (variable, data.cog))
        return dict(zip(names["code"], names["name"]))
    var = data.codebook.variables.get(variable)
    return dict(var.modalities) if var is not None else {}


def _interview_profiles(wh, survey_id: str) -> dict[str, Any]:
    """How many interviews the survey has, and the profile keys they can be counted by."""
    from vigie.modules.enquete.schema import existing_tables

    if "survey_interview" not in existing_tables(wh):
        return {"entretiens": 0, "profils": []}
    rows = wh.query("SELECT profile, commune FROM survey_interview WHERE survey = ?", (survey_id,))
    keys: dict[str, None] = {}
    for profile, _commune in rows:
        for key in json.loads(profile):
            keys.setdefault(key, None)
    if any(commune for _p, commune in rows):
        keys.setdefault("commune", None)
    return {"entretiens": len(rows), "profils": list(keys)}
