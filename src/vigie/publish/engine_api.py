"""The observatory's JSON API over the indicator engine: catalogue, cube, portraits, comparisons, map classes,
territory search, the map's compact answers and the GeoJSON contours.

The map of 35,000 communes reads three compact answers rather than the cube's rows: `/api/map/codes/{level}` (the
territories in a fixed order, and the level's extent), `/api/map/values` (one array of values in that order, the
positions of non-`ok` statuses, the classes and histogram computed here, the highest values with their names)
and, for proportional circles, `/api/map/points/{level}` (a label point inside each contour). Codes and points
are computed once per level (`AppContext.map_layout`, at warm-up); every answer is serialised and gzipped once.
Below zoom 7 the page shows `/api/map/image/{level}/{z}/{x}/{y}.png` instead of drawing the vector tiles: the same
answer's colours, drawn here (`publish/overview.py`).

Everything reads the materialised cube through the app's one `Engine`. A masked value is never sent: its
`value` is null and its `status` says `secret`. Answers that cannot change while the app runs (portraits,
contours) are built once and served from memory with an ETag.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from vigie.engine.catalogue import IndicatorDef
from vigie.errors import NotFoundError
from vigie.publish import french_numbers as fmt
from vigie.publish import overview, params
from vigie.publish.context import AppContext, Hidden, visible
from vigie.publish.geojson import GeoLayers
from vigie.publish.jenks import jenks_breaks
from vigie.publish.json_values import dumps, number
from vigie.publish.params import ParameterError
from vigie.publish.portrait import cube_rows, portrait, territory_json, value_text
from vigie.publish.responses import LRU, Body, errors, respond
from vigie.publish.tiles import check_tile, tile_bounds, tiles_covering
from vigie.publish.terminal import STATUS_TEXT, SYNTHETIC_MARK, level_label
from vigie.warehouse import Territory

JSON = "application/json"
GEOJSON = "application/geo+json"
METHODS = ("quantiles", "jenks", "equal", "manual")
HISTOGRAM_BINS = 20

TAGS = [
    {"name": "catalogue", "description": "Indicateurs du catalogue : définitions, unités, sources, années disponibles."},
    {"name": "observatoire", "description": "Valeurs du cube d'indicateurs, portraits de territoires, comparaisons, "
                                            "classes de carte et recherche de territoires."},
    {"name": "géographie", "description": "Contours simplifiés (WGS84, GeoJSON) des niveaux et des couches, pour la carte."},
]


def json_response(body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), media_type=JSON, headers=headers)


def cached(request: Request, cache: LRU, key: tuple, build, seen: Hidden | None = None) -> Response:
    """The JSON answer built by `build()` the first time this key is asked, then served from memory (ETag, gzip).
    With `seen`, the key includes what the viewer may not see and the answer is not shared by HTTP caches when
    some object is restricted."""
    if seen is None:
        return respond(request, cache.get(key, lambda: Body(dumps(build()))), JSON)
    return respond(request, cache.get(key + (seen.key,), lambda: Body(dumps(build()))), JSON, seen.cache_control)


def definition_of(ctx: AppContext, indicator_id: str, seen: Hidden) -> IndicatorDef:
    """The catalogue indicator, or the engine's own 404 when it is unknown OR hidden from this viewer."""
    seen.indicator(indicator_id, f"L'indicateur « {indicator_id} » n'est pas au catalogue.")
    return ctx.engine.indicator(indicator_id)


def indicator_json(ctx: AppContext, d: IndicatorDef, detail: bool = False, seen: Hidden | None = None) -> dict[str, Any]:
    hidden = seen.levels if seen is not None else frozenset()
    by_level = {lv: years for lv, years in ctx.indicator_years.get(d.id, {}).items() if lv not in hidden}
    body = {
        "id": d.id, "label": d.label, "theme": d.theme, "unit": d.unit, "kind": d.kind, "decimals": d.decimals,
        "source": d.source, "definition": d.definition, "secrecy": d.secrecy.model_dump(), "key": d.key,
        "years": sorted({y for years in by_level.values() for y in years}), "levels": sorted(by_level),
        "sources": ctx.indicator_sources.get(d.id, []),
    }
    if detail:
        body.update({"numerator": d.numerator, "denominator": d.denominator, "variable": d.variable,
                     "factor": d.factor, "years_by_level": by_level})
    return body


def router(ctx: AppContext) -> APIRouter:
    api = APIRouter()
    geo = GeoLayers(ctx)
    portraits = LRU()
    answers = LRU(1024)  # catalogue, cube, classes: they cannot change while the app runs

    def resolve(ref: str, name: str, seen: Hidden | None = None) -> Territory:
        level, code = params.territory_ref(ref, name)
        found = ctx.territory(level, code) if level else ctx.find(code)
        if seen is not None:
            hide_territory(found.level, found.code, seen)
        return found

    def hide_territory(level: str, code: str, seen: Hidden) -> None:
        seen.level(level, f"Aucun territoire n'a le code « {code} » au niveau « {level} ».")

    def within_codes(within: str | None, level: str, seen: Hidden) -> set[str] | None:
        if within is None:
            return None
        parent = resolve(within, "within", seen)
        with ctx.access.use() as wh:
            members = wh.members(parent, child_level=level, cog=ctx.engine.cog)
        return set(members["code"])

    # ------------------------------------------------------------------ catalogue
    @api.get("/api/catalogue", tags=["catalogue"], summary="Catalogue des indicateurs",
             description="Chaque indicateur du catalogue : identifiant, libellé, thème, unité, nature (`stock`, `ratio`, "
                         "`median`, `published_rate`, `index`), source, définition, règle de secret statistique, "
                         "indicateur clé ou non, années et niveaux disponibles dans le cube, fichiers importés qui "
                         "l'alimentent (producteur, millésime, licence, données fictives ou non).",
             responses=errors(400, 503))
    def catalogue(request: Request,
                  theme: str | None = Query(None, description="Ne garder que ce thème (ex. « logement »)."),
                  seen: Hidden = Depends(visible)) -> Response:
        engine = ctx.engine
        themes = list(dict.fromkeys(d.theme for d in engine.catalogue.values()))
        if theme is not None and theme not in themes:
            raise NotFoundError(f"Thème inconnu « {params.shown(theme)} » : thèmes du catalogue : {', '.join(themes)}.")

        def build() -> dict[str, Any]:
            items = [indicator_json(ctx, d, seen=seen) for d in engine.catalogue.values()
                     if (theme is None or d.theme == theme) and d.id not in seen.indicators]
            return {"count": len(items), "cog": engine.cog, "themes": themes, "indicators": items}

        return cached(request, answers, ("catalogue", theme), build, seen)

    @api.get("/api/catalogue/{indicator_id}", tags=["catalogue"], summary="Un indicateur du catalogue",
             description="Définition complète d'un indicateur (numérateur, dénominateur, facteur), avec ses années "
                         "disponibles par niveau.",
             responses=errors(404, 503))
    def catalogue_item(indicator_id: str, seen: Hidden = Depends(visible)) -> Response:
        definition = definition_of(ctx, indicator_id, seen)
        return json_response(indicator_json(ctx, definition, detail=True, seen=seen), {"Cache-Control": seen.cache_control})

    # ------------------------------------------------------------------ cube
    @api.get("/api/cube", tags=["observatoire"], summary="Valeurs d'un indicateur pour un niveau",
             description="Une ligne par territoire du niveau pour l'année demandée (par défaut la dernière disponible "
                         "à ce niveau) : code, nom, valeur, statut, données fictives ou non. Une valeur couverte par le "
                         "secret statistique n'est jamais transmise (`value` nul, `status` = `secret`).",
             responses=errors(400, 404, 409, 422, 503))
    def cube(
        request: Request,
        indicator: str = Query(..., description="Identifiant de l'indicateur (ex. « taux_chomage »)."),
        level: str = Query("commune", description="Niveau des territoires (commune, epci, qpv, departement…)."),
        year: int | None = Query(None, ge=1000, le=9999, description="Millésime des données (par défaut : le dernier disponible)."),
        codes: str | None = Query(None, description="Codes des territoires, séparés par des virgules (ex. 62498,62510)."),
        within: str | None = Query(None, description="Ne garder que les territoires d'un territoire englobant, "
                                                     "écrit NIVEAU:CODE (ex. epci:246200364)."),
        seen: Hidden = Depends(visible),
    ) -> Response:
        ctx.engine  # 503 first when there is no cube
        definition = definition_of(ctx, indicator, seen)
        ctx.check_level(level, seen.levels)
        code_list = params.codes(codes)
        if code_list is not None:
            unknown = [c for c in code_list if (level, c) not in ctx.names]
            if unknown:
                raise NotFoundError(f"Aucun territoire de niveau « {level} » n'a le code « {unknown[0]} ».")
        members = within_codes(within, level, seen)
        chosen = params.year(year, ctx.years(indicator, level), f"l'indicateur « {indicator} » au niveau « {level} »")
        key = ("cube", indicator, level, chosen, tuple(code_list) if code_list else None,
               frozenset(members) if members is not None else None)
        return cached(request, answers, key, lambda: cube_json(definition, level, chosen, code_list, members), seen)

    def cube_json(definition: IndicatorDef, level: str, chosen: int, code_list: list[str] | None,
                  members: set[str] | None) -> dict[str, Any]:
        indicator = definition.id
        with ctx.access.use():
            frame = ctx.engine.values(indicator, level, code_list, [chosen])
        rows = []
        synthetic = False
        for code, value, status, synth in zip(frame["code"], frame["value"], frame["status"], frame["synthetic"]):
            if members is not None and code not in members:
                continue
            synthetic |= bool(synth)
            rows.append({"level": level, "code": code, "name": ctx.names.get((level, code)), "year": chosen,
                         "value": None if status == "secret" else number(value), "status": status,
                         "synthetic": bool(synth)})
        return {
            "indicator": {"id": definition.id, "label": definition.label, "unit": definition.unit, "kind": definition.kind,
                          "decimals": definition.decimals, "source": definition.source},
            "level": level, "year": chosen, "vintage": ctx.vintage_text(indicator, chosen),
            "years": ctx.years(indicator, level), "count": len(rows), "rows": rows,
            "synthetic": synthetic, "synthetic_mark": SYNTHETIC_MARK if synthetic else None,
        }

    # ------------------------------------------------------------------ portrait
    @api.get("/api/portrait/{level}/{code}", tags=["observatoire"], summary="Portrait d'un territoire",
             description="Le territoire (nom, niveau, code, COG, territoires qui le contiennent), ses références (du plus "
                         "proche au plus large), ses chiffres par thème (indicateurs clés d'abord) avec leur dernière "
                         "année, leur statut, leur évolution depuis la première année disponible (absolue, en %, taux "
                         "de croissance annuel moyen, en points pour les taux), la valeur de la référence et l'indice "
                         "base 100, et la série de population. Chaque nombre a son texte en français (`text`).",
             responses=errors(400, 404, 409, 503))
    def portrait_route(
        request: Request, level: str, code: str,
        reference: str | None = Query(None, description="Territoire de référence, écrit NIVEAU:CODE (ex. "
                                                        "departement:62) ; par défaut la plus proche."),
        seen: Hidden = Depends(visible),
    ) -> Response:
        ctx.engine  # 503 first when there is no cube
        territory = ctx.territory(level, params.code(code))
        hide_territory(territory.level, territory.code, seen)
        ref = resolve(reference, "reference", seen) if reference else None
        key = (territory.level, territory.code, (ref.level, ref.code) if ref else None, seen.key)
        body = portraits.get(key, lambda: Body(dumps(portrait(ctx, territory, ref, seen))))
        return respond(request, body, JSON, seen.cache_control)

    # ------------------------------------------------------------------ compare
    @api.get("/api/compare", tags=["observatoire"], summary="Comparer 2 à 4 territoires",
             description="Les indicateurs demandés (par défaut les indicateurs clés) pour 2 à 4 territoires côte à côte, "
                         "la même année pour tous : la dernière où tous ont une valeur (sinon la dernière où l'un d'eux "
                         "en a une), ou l'année demandée.",
             responses=errors(400, 404, 409, 503))
    def compare(
        codes: str = Query(..., description="2 à 4 territoires écrits NIVEAU:CODE, séparés par des virgules "
                                            "(ex. commune:62498,commune:62510)."),
        indicators: str | None = Query(None, description="Identifiants des indicateurs, séparés par des virgules "
                                                         "(par défaut : les indicateurs clés)."),
        year: int | None = Query(None, ge=1000, le=9999, description="Millésime imposé à tous les indicateurs."),
        seen: Hidden = Depends(visible),
    ) -> Response:
        engine = ctx.engine
        refs = params.split(codes, "codes", limit=10)
        if not 2 <= len(refs) <= 4:
            raise ParameterError(f"Paramètre « codes » : 2 à 4 territoires attendus, {len(refs)} reçu(s).")
        territories = [resolve(r, "codes", seen) for r in refs]
        ids = params.indicators(indicators) if indicators else [
            d.id for d in engine.catalogue.values() if d.key and d.id not in seen.indicators]
        definitions = [definition_of(ctx, i, seen) for i in ids]
        rows = cube_rows(ctx, territories)
        out = []
        synthetic = False
        for d in definitions:
            per = [rows[(t.level, t.code)].get(d.id, []) for t in territories]
            shown = [{r["year"] for r in rs if r["status"] in ("ok", "fragile")} for rs in per]
            if year is not None:
                chosen = year
            else:
                common = set.intersection(*shown) if shown else set()
                chosen = max(common) if common else (max(set.union(*shown)) if any(shown) else None)
            values = []
            for t, rs in zip(territories, per):
                r = next((r for r in rs if r["year"] == chosen), None) if chosen is not None else None
                value, status = (r["value"], r["status"]) if r else (None, "missing")
                synthetic |= bool(r and r["synthetic"])
                values.append({"level": t.level, "code": t.code, "value": value, "status": status,
                               "synthetic": bool(r and r["synthetic"]), "text": value_text(d, value, status),
                               "status_text": STATUS_TEXT.get(status)})
            out.append({"id": d.id, "label": d.label, "theme": d.theme, "unit": d.unit, "kind": d.kind,
                        "decimals": d.decimals, "source": d.source, "year": chosen,
                        "vintage": ctx.vintage_text(d.id, chosen) if chosen is not None else None, "values": values})
        if year is not None and all(v["status"] == "missing" for i in out for v in i["values"]):
            raise NotFoundError(f"Aucune donnée en {year} pour ces indicateurs et ces territoires.")
        return json_response({
            "cog": engine.cog, "territories": [territory_json(t) for t in territories], "indicators": out,
            "synthetic": synthetic, "synthetic_mark": SYNTHETIC_MARK if synthetic else None,
        }, {"Cache-Control": seen.cache_control})

    # ------------------------------------------------------------------ classes
    @api.get("/api/classes", tags=["observatoire"], summary="Classes de carte et histogramme",
             description="Bornes des classes d'un indicateur pour un niveau et une année (quantiles, seuils naturels de "
                         "Jenks, intervalles égaux ou bornes manuelles), effectif de chaque classe, et histogramme des "
                         "valeurs en 20 intervalles égaux, pour la légende de la carte.",
             responses=errors(400, 404, 422, 503))
    def classes(
        request: Request,
        indicator: str = Query(..., description="Identifiant de l'indicateur."),
        level: str = Query("commune", description="Niveau des territoires."),
        year: int | None = Query(None, ge=1000, le=9999, description="Millésime (par défaut : le dernier disponible)."),
        method: str = Query("quantiles", description="quantiles, jenks, equal (intervalles égaux) ou manual."),
        k: int = Query(5, ge=1, le=12, description="Nombre de classes (1 à 12)."),
        bins: str | None = Query(None, description="Bornes supérieures des classes pour « manual », croissantes, "
                                                   "séparées par des virgules (ex. 5,10,20)."),
        seen: Hidden = Depends(visible),
    ) -> Response:
        ctx.engine  # 503 first when there is no cube
        definition = definition_of(ctx, indicator, seen)
        ctx.check_level(level, seen.levels)
        bounds = classification(method, bins)
        chosen = params.year(year, ctx.years(indicator, level), f"l'indicateur « {indicator} » au niveau « {level} »")
        key = ("classes", indicator, level, chosen, method, k, tuple(bounds) if bounds else None)
        return cached(request, answers, key, lambda: classes_json(definition, level, chosen, method, k, bounds), seen)

    def classification(method: str, bins: str | None) -> list[float] | None:
        """Check the classification method; the manual bounds, when it is « manual »."""
        if method not in METHODS:
            raise ParameterError(f"Paramètre « method » : « {params.shown(method)} » inconnu ; méthodes : {', '.join(METHODS)}.")
        if method != "manual":
            return None
        if not bins:
            raise ParameterError("La méthode « manual » demande des bornes : paramètre « bins » (ex. 5,10,20).")
        bounds = params.numbers(bins, "bins")
        if not bounds or any(b2 <= b1 for b1, b2 in zip(bounds, bounds[1:])):
            raise ParameterError("Paramètre « bins » : bornes strictement croissantes attendues.")
        return bounds

    def classes_json(definition: IndicatorDef, level: str, chosen: int, method: str, k: int,
                     bounds: list[float] | None, frame=None) -> dict[str, Any]:
        engine = ctx.engine
        with ctx.access.use(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # mapclassify warns when there are fewer distinct values than classes
            if frame is None:
                frame = engine.values(definition.id, level, years=[chosen])
            if method != "jenks":
                breaks = engine.classes(definition.id, level, chosen, method=method, k=k, bins=bounds)
        values = frame["value"].dropna().to_numpy(dtype=float)
        if method == "jenks":  # the engine's mapclassify Fisher-Jenks is pure Python: seconds for 900 values
            breaks = jenks_breaks(values, k)
        body: dict[str, Any] = {
            "indicator": {"id": definition.id, "label": definition.label, "unit": definition.unit,
                          "kind": definition.kind, "decimals": definition.decimals, "source": definition.source},
            "level": level, "year": chosen, "vintage": ctx.vintage_text(definition.id, chosen), "method": method,
            "k": len(breaks), "breaks": breaks, "count": int(len(values)), "missing": int(len(frame) - len(values)),
            "min": float(values.min()) if len(values) else None, "max": float(values.max()) if len(values) else None,
            "classes": [], "histogram": {"edges": [], "counts": []},
        }
        if len(values):
            lower = float(values.min())
            previous = None
            for upper in breaks:
                inside = values <= upper if previous is None else (values > previous) & (values <= upper)
                low = lower if previous is None else previous
                body["classes"].append({
                    "lower": low, "upper": upper, "count": int(inside.sum()),
                    "text": f"{fmt.number(low, definition.decimals)} – {value_text(definition, upper)}",
                })
                previous = upper
            counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
            body["histogram"] = {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}
        return body

    # ------------------------------------------------------------------ search
    @api.get("/api/search", tags=["observatoire"], summary="Chercher un territoire",
             description="Territoires dont le nom (sans tenir compte des accents ni de la casse : « lievin » trouve "
                         "Liévin) ou le code correspond, tous niveaux confondus (communes, EPCI, QPV, territoires "
                         "personnalisés…), classés : code exact, puis nom qui commence par le texte, puis les plus "
                         "grands territoires d'abord.",
             responses=errors(400, 404, 422))
    def search(
        q: str = Query(..., description="Texte cherché : nom ou code (ex. « lievin », « 62510 »)."),
        level: str | None = Query(None, description="Ne chercher qu'à ce niveau."),
        limit: int = Query(20, ge=1, le=100, description="Nombre de résultats (1 à 100)."),
        seen: Hidden = Depends(visible),
    ) -> Response:
        text = params.text(q, "q")
        if level is not None:
            ctx.check_level(level, seen.levels)
        found = ctx.search_index.search(text, level=level, limit=limit, hidden_levels=seen.levels)
        results = [{"level": e.level, "code": e.code, "name": e.name, "level_label": level_label(e.level), "tier": tier}
                   for e, tier in found]
        return json_response({"q": text, "count": len(results), "results": results},
                             {"Cache-Control": seen.cache_control})

    # ------------------------------------------------------------------ the map's compact answers
    layouts = LRU(64)

    @api.get("/api/map/codes/{level}", tags=["observatoire"], summary="Territoires de la carte, dans l'ordre des valeurs",
             description="Codes des territoires que la carte dessine à ce niveau (ceux qui ont un contour), triés : les "
                         "tableaux de `/api/map/values` et `/api/map/points` suivent cet ordre. Avec l'emprise du niveau "
                         "(`bounds` : ouest, sud, est, nord, en WGS84) et `version`, qui nomme cet ordre ; en-têtes "
                         "`ETag` et `Cache-Control`.",
             responses=errors(404), response_class=Response)
    def map_codes(request: Request, level: str, seen: Hidden = Depends(visible)) -> Response:
        layout = map_layout(level, seen)
        body = layouts.get(("codes", level), lambda: Body(dumps({
            "level": level, "cog": layout.cog, "version": layout.version, "count": len(layout.codes),
            "bounds": layout.bounds, "codes": layout.codes})))
        return respond(request, body, JSON, seen.cache_control)

    def map_layout(level: str, seen: Hidden):
        return ctx.map_layout(level, seen.levels)

    @api.get("/api/map/points/{level}", tags=["observatoire"], summary="Points d'ancrage des cercles de la carte",
             description="Pour chaque territoire de `/api/map/codes/{level}`, dans le même ordre, un point situé dans son "
                         "contour (`ST_PointOnSurface`, WGS84, 5 décimales) où placer son cercle proportionnel : "
                         "tableaux `lon` et `lat` (nuls pour un contour vide).",
             responses=errors(404), response_class=Response)
    def map_points(request: Request, level: str, seen: Hidden = Depends(visible)) -> Response:
        layout = map_layout(level, seen)
        body = layouts.get(("points", level), lambda: Body(dumps({
            "level": level, "version": layout.version, "count": len(layout.codes), "lon": layout.lon, "lat": layout.lat})))
        return respond(request, body, JSON, seen.cache_control)

    @api.get("/api/map/values", tags=["observatoire"], summary="Valeurs et classes d'une carte, en tableaux compacts",
             description="Tout ce que la carte dessine pour un indicateur, un niveau et une année, en une réponse : les "
                         "valeurs dans l'ordre de `/api/map/codes/{level}` (nulles quand la valeur manque ou est "
                         "couverte par le secret statistique), les positions des valeurs qui ne sont pas `ok` par statut "
                         "(`status`), les classes de la légende et leur histogramme (sauf pour les stocks, dessinés en "
                         "cercles proportionnels), les valeurs les plus élevées (avec le nom du territoire), la source et "
                         "le millésime. En-têtes `ETag` et `Cache-Control` ; réponse compressée (gzip) une fois pour toutes.",
             responses=errors(400, 404, 422, 503), response_class=Response)
    def map_values(
        request: Request,
        indicator: str = Query(..., description="Identifiant de l'indicateur."),
        level: str = Query("commune", description="Niveau des territoires (un niveau qui a des contours)."),
        year: int | None = Query(None, ge=1000, le=9999, description="Millésime (par défaut : le dernier disponible)."),
        method: str = Query("quantiles", description="quantiles, jenks, equal (intervalles égaux) ou manual."),
        k: int = Query(5, ge=1, le=12, description="Nombre de classes (1 à 12)."),
        bins: str | None = Query(None, description="Bornes supérieures des classes pour « manual » (ex. 5,10,20)."),
        seen: Hidden = Depends(visible),
    ) -> Response:
        key, answer = map_answer(indicator, level, year, method, k, bins, seen)
        return cached(request, answers, key, answer, seen)

    map_answers = LRU(32)  # the answers as dictionaries, for the overview images

    def map_answer(indicator: str, level: str, year: int | None, method: str, k: int, bins: str | None, seen: Hidden):
        """The cache key of a map's answer and a function giving it (as a dictionary, built once)."""
        ctx.engine  # 503 first when there is no cube
        definition = definition_of(ctx, indicator, seen)
        layout = map_layout(level, seen)
        bounds = classification(method, bins)
        chosen = params.year(year, ctx.years(indicator, level), f"l'indicateur « {indicator} » au niveau « {level} »")
        circles = definition.kind == "stock"
        key = ("map", indicator, level, chosen) + (() if circles else (method, k, tuple(bounds) if bounds else None))
        return key, lambda: map_answers.get(key, lambda: map_values_json(definition, layout, chosen, method, k, bounds))

    def map_values_json(definition: IndicatorDef, layout, chosen: int, method: str, k: int,
                        bounds: list[float] | None) -> dict[str, Any]:
        level = layout.level
        with ctx.access.use():
            frame = ctx.engine.values(definition.id, level, years=[chosen])
        n = len(layout.codes)
        where = np.array([layout.position.get(code, -1) for code in frame["code"]], dtype=np.int64)
        inside = where >= 0
        raw = frame["value"].to_numpy(dtype=float, na_value=np.nan)
        status = frame["status"].astype(str).to_numpy(dtype=object)
        values = np.full(n, np.nan)
        statuses = np.full(n, "missing", dtype=object)
        values[where[inside]] = raw[inside]
        statuses[where[inside]] = status[inside]
        values[statuses == "secret"] = np.nan
        digits = min(6, max(0, definition.decimals) + 2)  # enough for classes to fall as the server's breaks say
        shown = [None if v != v else (int(v) if v.is_integer() else v) for v in np.round(values, digits).tolist()]
        by_status = {name: np.flatnonzero(statuses == name).tolist() for name in sorted(set(statuses.tolist()) - {"ok"})}
        by_status["missing"] = [i for i in by_status.get("missing", []) if shown[i] is None]
        numbers = values[~np.isnan(values)]
        order = np.argsort(-np.where(np.isnan(values), -np.inf, values), kind="stable")[: min(8, len(numbers))]
        top = [{"code": layout.codes[i], "name": ctx.names.get((level, layout.codes[i]), layout.codes[i]),
                "value": shown[i], "status": str(statuses[i])} for i in order.tolist()]
        synthetic = bool(frame["synthetic"].fillna(False).astype(bool).any()) if len(frame) else False
        circles = definition.kind == "stock"
        classes = None if circles else {
            key: value for key, value in classes_json(definition, level, chosen, method, k, bounds, frame).items()
            if key in ("method", "k", "breaks", "classes", "histogram", "count", "missing")}
        if classes is not None:
            classes["colors"] = overview.class_colors(len(classes["breaks"]))
        return {
            "indicator": {"id": definition.id, "label": definition.label, "unit": definition.unit, "kind": definition.kind,
                          "decimals": definition.decimals, "source": definition.source, "definition": definition.definition},
            "level": level, "year": chosen, "vintage": ctx.vintage_text(definition.id, chosen),
            "years": ctx.years(definition.id, level), "version": layout.version, "count": n,
            "with_value": int(len(numbers)), "min": float(numbers.min()) if len(numbers) else None,
            "max": float(numbers.max()) if len(numbers) else None, "values": shown, "status": by_status,
            "drawing": "cercles" if circles else "aplats", "classes": classes, "colors": overview.COLORS, "top": top,
            "synthetic": synthetic, "synthetic_mark": SYNTHETIC_MARK if synthetic else None,
        }

    images = LRU(4096, max_bytes=256 * 2**20)

    @api.get("/api/map/image/{level}/{z}/{x}/{y}.png", tags=["observatoire"],
             summary="Aperçu de la carte aux petits zooms (image PNG)",
             description="Tuile image (1 024 × 1 024 pixels, Web Mercator, fond transparent ; l'image du zoom z se montre "
                         "au zoom z + 1 de la carte, `tileSize` 1024) des territoires colorés selon les "
                         f"classes de `/api/map/values` (mêmes paramètres), pour les zooms 0 à {overview.OVERVIEW_MAX_ZOOM} "
                         "où une carte de France compte des dizaines de milliers de territoires : la page l'affiche au "
                         "lieu de dessiner les tuiles vectorielles. Pour un stock, les cercles proportionnels : `r` est "
                         "le rayon en pixels, au zoom 8, du cercle de la plus forte valeur. Territoire sans valeur en gris.",
             responses={200: {"content": {"image/png": {}}, "description": "L'image."}, **errors(400, 404, 422, 503)},
             response_class=Response)
    def map_image(
        request: Request, level: str,
        z: int = Path(..., description=f"Zoom (0 à {overview.OVERVIEW_MAX_ZOOM})."),
        x: int = Path(..., description="Colonne de la tuile."), y: int = Path(..., description="Ligne de la tuile."),
        indicator: str = Query(..., description="Identifiant de l'indicateur."),
        year: int | None = Query(None, ge=1000, le=9999, description="Millésime (par défaut : le dernier disponible)."),
        method: str = Query("quantiles", description="quantiles, jenks, equal (intervalles égaux) ou manual."),
        k: int = Query(5, ge=1, le=12, description="Nombre de classes (1 à 12)."),
        bins: str | None = Query(None, description="Bornes supérieures des classes pour « manual »."),
        r: float = Query(28.0, gt=0, le=200, description="Cercles : rayon (pixels, zoom 8) de la plus forte valeur."),
        seen: Hidden = Depends(visible),
    ) -> Response:
        if z > overview.OVERVIEW_MAX_ZOOM:
            raise ParameterError(f"Aperçu dessiné jusqu'au zoom {overview.OVERVIEW_MAX_ZOOM} seulement (demandé : {z}) : "
                                 "au-delà, utilisez les tuiles vectorielles /tiles/{niveau}/{z}/{x}/{y}.mvt.")
        check_tile(z, x, y)
        key, answer = map_answer(indicator, level, year, method, k, bins, seen)
        circles = answer()["drawing"] == "cercles"
        scale = round(r, 1) if circles else None
        body = images.get(key + (z, x, y, scale), lambda: Body(overview_png(level, z, x, y, key, answer(), scale)))
        return respond(request, body, "image/png", seen.cache_control, compress=False)

    def prerender_overview() -> None:
        """At start-up, the images of the map's first view (default indicator and classes, latest year, commune
        level, images of zooms 0 to 5, seen at map zooms up to 6.5, over its extent): the first visitor of a national
        map does not wait for them."""
        indicator = ctx.default_map_indicator
        if not indicator or "commune" not in ctx.geometry_levels or ctx.tiles is None:
            return
        key, answer = map_answer(indicator, "commune", None, "quantiles", 5, None, Hidden())
        if answer()["drawing"] == "cercles":
            return  # the circles' images depend on the page's scale
        west, south, east, north = ctx.map_layout("commune").bounds or (0.0, 0.0, 0.0, 0.0)
        (xmin, xmax), (ymin, ymax) = overview.mercator(np.array([west, east]), np.array([south, north]))
        for z in range(overview.OVERVIEW_MAX_ZOOM):
            for x, y in tiles_covering((xmin, ymin, xmax, ymax), z):
                if ctx.closing.is_set():
                    return
                images.get(key + (z, x, y, None), lambda: Body(overview_png("commune", z, x, y, key, answer(), None)))

    ctx.warm_hooks.append(prerender_overview)

    paints = LRU(16)  # what every image of one map draws, by answer (and circles' scale)

    def paint_of(level: str, key: tuple, answer: dict[str, Any], scale: float | None):
        """Each territory's fill (in the level's code order) and, for circles, their Web Mercator centres and radii
        in pixels: computed once per map, not once per image."""
        def build():
            values = np.array([np.nan if v is None else v for v in answer["values"]], dtype=float)
            classes = answer["classes"]
            colors = overview.fills(values, None if scale is not None else (classes["breaks"] if classes else []))
            if scale is None:
                return colors, None
            layout = ctx.map_layout(level)
            radii = overview.circle_radii(values, answer["max"] or 0.0, scale)
            lon = np.array([np.nan if v is None else v for v in layout.lon], dtype=float)
            lat = np.array([np.nan if v is None else v for v in layout.lat], dtype=float)
            mx, my = overview.mercator(lon, lat)
            drawn = (radii > 0) & ~np.isnan(mx)
            return colors, (mx[drawn], my[drawn], radii[drawn])

        return paints.get(key + (scale,), build)

    def overview_png(level: str, z: int, x: int, y: int, key: tuple, answer: dict[str, Any], scale: float | None) -> bytes:
        position = ctx.map_layout(level).position
        colors, centres = paint_of(level, key, answer, scale)
        box = tile_bounds(z, x, y)
        pixel = (box[2] - box[0]) / overview.PIXELS
        margin = 2 * pixel
        codes, geoms = ctx.tiles.geometries(level, z + overview.SHIFT, (box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin))
        where = np.array([position.get(c, -1) for c in codes], dtype=np.int64)
        known = where >= 0
        fill = [colors[i] for i in where[known]]
        circles = None
        if centres is not None:
            mx, my, radii = centres
            reach = radii * pixel
            near = (mx + reach >= box[0]) & (mx - reach <= box[2]) & (my + reach >= box[1]) & (my - reach <= box[3])
            circles = ((mx[near] - box[0]) / pixel, (box[3] - my[near]) / pixel, radii[near])
        return overview.draw(overview.to_pixels(geoms[known], box), fill, circles)

    # ------------------------------------------------------------------ geometry
    @api.get("/api/geo/layers/{layer_id}", tags=["géographie"], summary="Une couche en GeoJSON pour la carte",
             description="Objets de la couche (WGS84, coordonnées arrondies à 5 décimales) avec leurs propriétés, leur "
                         "nom et leur commune ; en-têtes `ETag` et `Cache-Control`.",
             responses=errors(404), response_class=Response)
    def geo_layer(request: Request, layer_id: str, seen: Hidden = Depends(visible)) -> Response:
        ctx.check_layer(layer_id, seen)
        return respond(request, geo.layer(layer_id), GEOJSON, seen.cache_control)

    @api.get("/api/geo/{level}", tags=["géographie"], summary="Contours d'un niveau en GeoJSON pour la carte",
             description="FeatureCollection des contours simplifiés du niveau (WGS84, coordonnées arrondies à 5 "
                         "décimales), propriétés `code` et `name` ; en-têtes `ETag` et `Cache-Control` (une requête avec "
                         "`If-None-Match` reçoit 304 si rien n'a changé).",
             responses=errors(404, 422), response_class=Response)
    def geo_level(request: Request, level: str,
                  cog: int | None = Query(None, ge=1000, le=9999, description="Millésime du COG (par défaut : celui du cube)."),
                  seen: Hidden = Depends(visible)) -> Response:
        ctx.check_level(level, seen.levels)
        return respond(request, geo.contours(level, cog), GEOJSON, seen.cache_control)

    return api
