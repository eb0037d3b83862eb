"""The observatory API over the indicator engine (catalogue, cube, portrait, compare, classes, search, contours),
on a small Artois warehouse built here through `run_import` and `build_cube` with the real catalogue.

Territory (COG 2026): Lens and Liévin (CA de Lens - Liévin), Hénin-Beaumont (CA d'Hénin-Carvin), Béthune (CA de
Béthune-Bruay), Arras (CU d'Arras); the Pôle Métropolitain de l'Artois (PMA) = the first three EPCI; département
62 and région 32, plus the département 32 (Gers, no commune) so that the code « 32 » is ambiguous; one QPV in
Liévin. Expected figures are computed by hand below. Liévin's vacant dwellings are secret in the source file
(with a stored number, 42, that must never come out), which masks them up to the département; the QPV's CSS
beneficiaries (8) fall under the threshold of 11 and are masked by the cube. The census is synthetic.

`build_observatory` is also used by the OGC, export and tile tests.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from urllib.parse import quote

import mapclassify
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import Point, box, shape

from vigie import formatting
from vigie.engine.cube import build_cube
from vigie.progress import Reporter
from vigie.publish import french_numbers
from vigie.publish.api import create_app
from vigie.publish.context import AppContext
from vigie.publish.jenks import jenks_breaks
from vigie.publish.portrait import references
from vigie.publish.search import normalise
from vigie.sources.base import Batch, Importer, run_import
from vigie.warehouse import Territory, Warehouse, connect

pytestmark = pytest.mark.filterwarnings("ignore:Numba not installed")

COG = 2026
CALL, CAHC, CABBALR, CUA = "246200364", "246200299", "200072460", "200033579"
QPV = "QN06229M"
COMMUNES = {  # code: (name, EPCI, lon/lat rectangle)
    "62498": ("Lens", CALL, box(2.80, 50.41, 2.86, 50.45)),
    "62510": ("Liévin", CALL, box(2.74, 50.40, 2.80, 50.44)),
    "62427": ("Hénin-Beaumont", CAHC, box(2.92, 50.39, 2.98, 50.44)),
    "62119": ("Béthune", CABBALR, box(2.60, 50.50, 2.68, 50.56)),
    "62041": ("Arras", CUA, box(2.74, 50.27, 2.80, 50.31)),
}
EPCI = {CALL: "CA de Lens - Liévin", CAHC: "CA d'Hénin-Carvin", CABBALR: "CA de Béthune-Bruay, Artois-Lys Romane",
        CUA: "CU d'Arras"}
PMA_EPCI = [CALL, CAHC, CABBALR]
QPV_WEB = box(2.76, 50.41, 2.77, 50.42)

# Base variables by commune (Lens, Liévin, Hénin-Beaumont, Béthune, Arras).
ORDER = ["62498", "62510", "62427", "62119", "62041"]
POP_LEGALE = {2016: [31000, 31500, 26000, 25000, 41000], 2022: [32000, 30000, 27000, 25500, 42000]}
P_POP = {2010: [30000, 32000, 25000, 24000, 40000], 2021: [32500, 30100, 26900, 25400, 41800]}
P_LOG = {2021: [16000, 14000, 12000, 13000, 24000]}
P_LOGVAC = {2021: [1600, "s", 900, 1300, 2000]}
P_CHOM = {2010: [1800, 1700, 1400, 1000, 1500], 2021: [2000, 1800, 1500, 1200, 1900]}
P_ACT = {2010: [13500, 13000, 11500, 10500, 18500], 2021: [14000, 13000, 12000, 11000, 19000]}
REVENU_MEDIAN = {2021: [17500, 18000, 18200, 19000, 21000]}

TO_L93 = pyproj.Transformer.from_crs(4326, 2154, always_xy=True)


def l93(geom):
    return shapely.transform(geom, lambda c: np.column_stack(TO_L93.transform(c[:, 0], c[:, 1])))


def contours() -> dict[tuple[str, str], shapely.Geometry]:
    """WGS84 contours of every level that has some: communes, EPCI, département, PMA (unions), QPV."""
    web = {("commune", c): g for c, (_n, _e, g) in COMMUNES.items()}
    for siren in EPCI:
        web[("epci", siren)] = shapely.union_all([g for _n, e, g in COMMUNES.values() if e == siren])
    web[("departement", "62")] = shapely.union_all([g for _n, _e, g in COMMUNES.values()])
    web[("pole_metropolitain", "PMA")] = shapely.union_all([g for _n, e, g in COMMUNES.values() if e in PMA_EPCI])
    web[("qpv", QPV)] = QPV_WEB
    return web


class TerritoriesImporter(Importer):
    kind = "test-territoires"
    title = "Référentiel de l'Artois (test)"
    producer = "INSEE (extrait de test)"

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        rows = [("commune", c, n) for c, (n, _e, _g) in COMMUNES.items()]
        rows += [("epci", s, n) for s, n in EPCI.items()]
        rows += [("departement", "62", "Pas-de-Calais"), ("departement", "32", "Gers"), ("region", "32", "Hauts-de-France"),
                 ("pole_metropolitain", "PMA", "Pôle Métropolitain de l'Artois"), ("qpv", QPV, "Les Hauts De Liévin")]
        members = []
        for code, (_n, siren, _g) in COMMUNES.items():
            members += [("commune", code, "epci", siren, 1.0), ("commune", code, "departement", "62", 1.0),
                        ("commune", code, "region", "32", 1.0)]
            if siren in PMA_EPCI:
                members.append(("commune", code, "pole_metropolitain", "PMA", 1.0))
        members += [("epci", s, "pole_metropolitain", "PMA", 1.0) for s in PMA_EPCI]
        members += [("departement", "62", "region", "32", 1.0), ("qpv", QPV, "commune", "62510", 1.0)]
        shapes = contours()
        batch = Batch()
        batch.add("territory", pd.DataFrame(rows, columns=["level", "code", "name"]).assign(cog=COG))
        batch.add("membership", pd.DataFrame(
            members, columns=["child_level", "child_code", "parent_level", "parent_code", "weight"]).assign(cog=COG))
        keys = list(shapes)
        batch.add("territory_geometry", pd.DataFrame({
            "level": [k[0] for k in keys], "code": [k[1] for k in keys], "cog": COG,
            "area_km2": [l93(shapes[k]).area / 1e6 for k in keys],
            "geom": [l93(shapes[k]) for k in keys], "geom_web": [shapes[k] for k in keys],
        }))
        return batch


class ValuesImporter(Importer):
    """Commune values of base variables: {variable: {year: [values in ORDER]}}; "s" is a secret cell."""

    kind = "test-valeurs"
    title = "Valeurs de l'Artois (test)"
    producer = "INSEE (extrait de test)"

    def __init__(self, path, variables: dict, synthetic: bool = False, **options):
        super().__init__(path, **options)
        self.variables = variables
        self.synthetic_values = synthetic

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        rows = []
        for variable, years in self.variables.items():
            for year, values in years.items():
                for code, value in zip(ORDER, values):
                    # A secret cell keeps a stored number here on purpose: it must never come out.
                    rows.append((variable, "commune", code, year, COG, 42.0 if value == "s" else float(value),
                                 "secret" if value == "s" else "ok"))
        if self.path.name == "qpv.csv":
            rows += [("qpv_nb_beneficiaires_css", "qpv", QPV, 2024, COG, 8.0, "ok"),
                     ("qpv_population_couverte", "qpv", QPV, 2024, COG, 3000.0, "ok"),
                     ("p_pop", "qpv", QPV, 2021, COG, 4000.0, "ok")]
        batch = Batch()
        batch.add("value", pd.DataFrame(rows, columns=["indicator", "level", "code", "year", "cog", "value", "status"]))
        return batch


class SyntheticValuesImporter(ValuesImporter):
    synthetic = True
    title = "Recensement (données fictives de test)"
    producer = "Générateur de démonstration"


class LayersImporter(Importer):
    kind = "test-couches"
    title = "Friches et gares (test)"
    producer = "Cerema / SNCF (extrait de test)"

    def read(self, wh: Warehouse, report: Reporter) -> Batch:
        points = [
            ("friches", "f1", "Friche de la fosse 11", "62498", {"surface_ha": 2.5, "statut": "friche reconvertie"}, Point(2.83, 50.43)),
            ("friches", "f2", "Ancienne usine", "62498", {"surface_ha": 1.2}, Point(2.84, 50.44)),
            ("friches", "f3", "Friche ferroviaire", "62119", {"surface_ha": 4.0}, Point(2.64, 50.53)),
            ("gares", "g1", "Lens", "62498", {"lignes": "K10, P10"}, Point(2.827, 50.427)),
            ("gares", "g2", "Béthune", "62119", {"lignes": "P30"}, Point(2.64, 50.52)),
        ]
        batch = Batch()
        batch.add("layer", pd.DataFrame([("friches", "Friches", "foncier"), ("gares", "Gares ferroviaires", "mobilité")],
                                        columns=["id", "label", "theme"]))
        batch.add("layer_feature", pd.DataFrame({
            "layer": [p[0] for p in points], "feature_id": [p[1] for p in points], "name": [p[2] for p in points],
            "commune": [p[3] for p in points],
            "properties": [json.dumps(p[4], ensure_ascii=False) for p in points],
            "geom": [l93(p[5]) for p in points], "geom_web": [p[5] for p in points],
        }))
        return batch


def build_observatory(wh: Warehouse, folder: Path) -> None:
    """The small Artois warehouse, cube included."""
    for name in ("territoires.csv", "populations.csv", "recensement.csv", "qpv.csv", "couches.csv"):
        (folder / name).write_text(f"{name}\n", encoding="utf-8")
    run_import(wh, TerritoriesImporter(folder / "territoires.csv"))
    run_import(wh, ValuesImporter(folder / "populations.csv", {"pop_legale": POP_LEGALE, "revenu_median_uc": REVENU_MEDIAN}),
               licence="Licence Ouverte / Etalab 2.0")
    run_import(wh, SyntheticValuesImporter(folder / "recensement.csv", {
        "p_pop": P_POP, "p_log": P_LOG, "p_logvac": P_LOGVAC, "p_chom1564": P_CHOM, "p_act1564": P_ACT}))
    run_import(wh, ValuesImporter(folder / "qpv.csv", {}), licence="Licence Ouverte / Etalab 2.0")
    run_import(wh, LayersImporter(folder / "couches.csv"), licence="ODbL")
    build_cube(wh)








def t(level: str, code: str, name: str = "") -> Territory:
    return Territory(level, code, COG, name)


def none_if_nan(value):
    return None if value is None or pd.isna(value) else value


# ------------------------------------------------------------------------------------------ catalogue
def test_catalogue_lists_every_indicator_with_its_years(client, engine):
    body = client.get("/api/catalogue").json()
    assert body["count"] == len(engine.catalogue) and body["cog"] == COG
    items = {i["id"]: i for i in body["indicators"]}
    assert list(items) == list(engine.catalogue)
    pl = items["population_legale"]
    assert (pl["label"], pl["theme"], pl["unit"], pl["kind"], pl["key"]) == (
        "Population municipale légale", "démographie", "habitants", "stock", True)
    assert pl["source"] == "INSEE, populations légales" and pl["definition"].startswith("Population municipale légale")
    assert pl["years"] == [2016, 2022]
    assert pl["levels"] == ["commune", "departement", "epci", "pole_metropolitain", "region"]
    assert pl["sources"] == [{"title": "Valeurs de l'Artois (test)", "producer": "INSEE (extrait de test)",
                              "vintage": None, "licence": "Licence Ouverte / Etalab 2.0", "synthetic": False}]
    assert items["population"]["sources"][0]["synthetic"] is True
    assert items["beneficiaires_css"]["secrecy"] == {"min_count": 11, "fragile_below_population": None}
    assert items["part_cs1"]["years"] == []  # in the catalogue, no data here
    assert client.get("/api/catalogue", params={"theme": "logement"}).json()["count"] == sum(
        d.theme == "logement" for d in engine.catalogue.values())

    one = client.get("/api/catalogue/taux_chomage").json()
    assert (one["numerator"], one["denominator"], one["factor"]) == ("p_chom1564", "p_act1564", 100.0)
    assert one["years_by_level"]["commune"] == [2010, 2021] and one["years_by_level"]["pole_metropolitain"] == [2010, 2021]
    r = client.get("/api/catalogue/chomage_martien")
    assert (r.status_code, r.json()) == (404, {"detail": "L'indicateur « chomage_martien » n'est pas au catalogue."})


# ------------------------------------------------------------------------------------------ cube
def test_cube_rows_by_level_with_names(client):
    body = client.get("/api/cube", params={"indicator": "population_legale", "level": "epci"}).json()
    assert (body["level"], body["year"], body["years"]) == ("epci", 2022, [2016, 2022])
    assert body["vintage"] == "2022"  # no vintage template was imported for this variable
    assert body["rows"] == [
        {"level": "epci", "code": CUA, "name": "CU d'Arras", "year": 2022, "value": 42000.0, "status": "ok", "synthetic": False},
        {"level": "epci", "code": CABBALR, "name": EPCI[CABBALR], "year": 2022, "value": 25500.0, "status": "ok", "synthetic": False},
        {"level": "epci", "code": CAHC, "name": "CA d'Hénin-Carvin", "year": 2022, "value": 27000.0, "status": "ok", "synthetic": False},
        {"level": "epci", "code": CALL, "name": "CA de Lens - Liévin", "year": 2022, "value": 62000.0, "status": "ok", "synthetic": False},
    ]
    assert body["synthetic"] is False and body["synthetic_mark"] is None
    old = client.get("/api/cube", params={"indicator": "population_legale", "level": "pole_metropolitain", "year": 2016}).json()
    assert [(r["code"], r["value"]) for r in old["rows"]] == [("PMA", 31000 + 31500 + 26000 + 25000)]
    within = client.get("/api/cube", params={"indicator": "population", "within": f"epci:{CALL}"}).json()
    assert [(r["code"], r["value"], r["synthetic"]) for r in within["rows"]] == [("62498", 32500.0, True), ("62510", 30100.0, True)]
    assert within["synthetic"] is True and within["synthetic_mark"] == "données fictives de démonstration"
    some = client.get("/api/cube", params={"indicator": "taux_chomage", "codes": "62498, 62041"}).json()
    assert [(r["code"], round(r["value"], 4)) for r in some["rows"]] == [("62041", 10.0), ("62498", round(2000 / 14000 * 100, 4))]


def test_cube_never_sends_a_masked_value(client):
    r = client.get("/api/cube", params={"indicator": "taux_vacance", "level": "commune"})
    rows = {row["code"]: row for row in r.json()["rows"]}
    assert rows["62510"] == {"level": "commune", "code": "62510", "name": "Liévin", "year": 2021, "value": None,
                             "status": "secret", "synthetic": True}
    assert rows["62498"]["value"] == pytest.approx(10.0)
    # The secret part masks every total it belongs to.
    for level, code in (("epci", CALL), ("pole_metropolitain", "PMA"), ("departement", "62")):
        row = client.get("/api/cube", params={"indicator": "taux_vacance", "level": level}).json()["rows"]
        assert [(x["value"], x["status"]) for x in row if x["code"] == code] == [(None, "secret")]
    qpv = client.get("/api/cube", params={"indicator": "beneficiaires_css", "level": "qpv"}).json()["rows"]
    assert qpv == [{"level": "qpv", "code": QPV, "name": "Les Hauts De Liévin", "year": 2024, "value": None,
                    "status": "secret", "synthetic": False}]
    for indicator, level in (("taux_vacance", "commune"), ("beneficiaires_css", "qpv"), ("part_css", "qpv")):
        text = client.get("/api/cube", params={"indicator": indicator, "level": level}).text
        assert '"value":42' not in text and '"value":8.0' not in text and "0.266" not in text


# ------------------------------------------------------------------------------------------ portrait
def test_portrait_of_lens_by_hand(client):
    body = client.get("/api/portrait/commune/62498").json()
    assert body["territory"] == {
        "level": "commune", "code": "62498", "name": "Lens", "level_label": "Commune", "cog": COG,
        "parents": [
            {"level": "departement", "code": "62", "name": "Pas-de-Calais", "level_label": "Département", "weight": 1.0},
            {"level": "epci", "code": CALL, "name": "CA de Lens - Liévin", "level_label": "EPCI", "weight": 1.0},
            {"level": "pole_metropolitain", "code": "PMA", "name": "Pôle Métropolitain de l'Artois",
             "level_label": "Pôle métropolitain", "weight": 1.0},
            {"level": "region", "code": "32", "name": "Hauts-de-France", "level_label": "Région", "weight": 1.0},
        ],
        "children": {},
    }
    assert [(r["level"], r["code"]) for r in body["references"]] == [
        ("epci", CALL), ("pole_metropolitain", "PMA"), ("departement", "62"), ("region", "32")]
    assert body["reference"]["code"] == CALL
    assert body["synthetic"] is True and body["synthetic_mark"] == "données fictives de démonstration"

    themes = [t["theme"] for t in body["themes"]]
    assert themes[:2] == ["démographie", "économie-emploi"]
    figures = {f["indicator"]: f for theme in body["themes"] for f in theme["figures"]}
    demography = [f["indicator"] for f in body["themes"][0]["figures"]]
    assert demography[:3] == ["densite", "part_0014", "part_75p"]  # key figures first (populations go to the series)
    assert all(figures[i]["key"] for i in demography if figures[i]["key"]) and "population" not in figures

    chom = figures["taux_chomage"]
    rate21, rate10 = 2000 / 14000 * 100, 1800 / 13500 * 100
    assert (chom["year"], chom["status"], chom["synthetic"]) == (2021, "ok", True)
    assert chom["value"] == pytest.approx(rate21) and chom["text"] == "14,3\u00a0%"
    ev = chom["evolution"]
    assert (ev["start"], ev["end"], ev["percent"], ev["annual_rate"]) == (2010, 2021, None, None)
    assert ev["points"] == pytest.approx(rate21 - rate10) and ev["text"] == "+1,0\u00a0pt depuis 2010"
    ref = chom["reference"]
    call_rate = (2000 + 1800) / (14000 + 13000) * 100
    assert ref["code"] == CALL and ref["value"] == pytest.approx(call_rate) and ref["text"] == "14,1\u00a0%"
    assert ref["index_100"] == pytest.approx(rate21 / call_rate * 100) and ref["index_text"] == "102"
    assert ref["difference"] == pytest.approx(rate21 - call_rate) and ref["difference_text"] == "+0,2\u00a0pt"

    revenu = figures["revenu_median"]
    assert (revenu["value"], revenu["text"], revenu["evolution"]) == (17500.0, "17\u202f500\u00a0€", None)
    assert revenu["reference"]["value"] is None and revenu["reference"]["status"] == "missing"  # a median is not summed

    vacancy = figures["taux_vacance"]
    assert vacancy["value"] == pytest.approx(10.0)
    assert (vacancy["reference"]["value"], vacancy["reference"]["status"], vacancy["reference"]["text"]) == (
        None, "secret", "secret statistique")

    series = {s["indicator"]: s for s in body["population"]}
    assert [(v["year"], v["value"], v["text"]) for v in series["population_legale"]["values"]] == [
        (2016, 31000.0, "31\u202f000\u00a0habitants"), (2022, 32000.0, "32\u202f000\u00a0habitants")]
    assert [(v["year"], v["value"], v["synthetic"]) for v in series["population"]["values"]] == [
        (2010, 30000.0, True), (2021, 32500.0, True)]


def test_portrait_of_an_epci_with_another_reference(client):
    body = client.get("/api/portrait/epci/" + CALL, params={"reference": "departement:62"}).json()
    assert body["territory"]["children"] == {"commune": 2}
    assert body["territory"]["parents"] == [{"level": "pole_metropolitain", "code": "PMA", "name": "Pôle Métropolitain de l'Artois",
                                             "level_label": "Pôle métropolitain", "weight": 1.0}]
    assert [(r["level"], r["code"]) for r in body["references"]] == [("pole_metropolitain", "PMA"), ("departement", "62"), ("region", "32")]
    assert body["reference"]["code"] == "62"
    figures = {f["indicator"]: f for theme in body["themes"] for f in theme["figures"]}
    density = figures["densite"]
    area = sum(l93(COMMUNES[c][2]).area / 1e6 for c in ("62498", "62510"))
    assert density["value"] == pytest.approx((32500 + 30100) / area)
    assert figures["revenu_median"]["status"] == "missing"
    assert figures["revenu_median"]["reason"] == "non agrégeable à ce niveau"
    series = {s["indicator"]: s for s in body["population"]}["population_legale"]["values"]
    assert [v["value"] for v in series] == [62500.0, 62000.0]
    assert "population_legale" not in figures  # in the series, not among the figures


def test_portrait_of_a_qpv_keeps_its_secrets(client):
    body = client.get(f"/api/portrait/qpv/{QPV}").json()
    assert [(r["level"], r["code"]) for r in body["references"]] == [
        ("commune", "62510"), ("epci", CALL), ("pole_metropolitain", "PMA"), ("departement", "62"), ("region", "32")]
    figures = {f["indicator"]: f for theme in body["themes"] for f in theme["figures"]}
    assert (figures["beneficiaires_css"]["value"], figures["beneficiaires_css"]["status"]) == (None, "secret")
    assert figures["beneficiaires_css"]["text"] == "secret statistique"
    assert '"value":8.0' not in client.get(f"/api/portrait/qpv/{QPV}").text


def test_portrait_follows_the_engine_for_every_indicator(client, engine):
    """Each figure, evolution and reference value equals what Engine.figure/evolution/compare give."""
    for level, code, name in (("commune", "62498", "Lens"), ("epci", CALL, ""), ("pole_metropolitain", "PMA", ""),
                              ("qpv", QPV, "")):
        body = client.get(f"/api/portrait/{level}/{code}").json()
        territory = t(level, code, name)
        refs = engine.references(territory)
        assert [(r["level"], r["code"]) for r in body["references"]] == [(r.level, r.code) for r in refs]
        for theme in body["themes"]:
            for f in theme["figures"]:
                rows = engine.values(f["indicator"], level, [code])
                if rows.empty:
                    assert f["status"] == "missing" and f["reason"] == engine.figure(f["indicator"], territory)["reason"]
                    continue
                fig = engine.figure(f["indicator"], territory, f["year"])
                assert (f["value"], f["status"], f["synthetic"]) == (fig["value"], fig["status"], fig["synthetic"])
                if f["evolution"]:
                    ev = engine.evolution(f["indicator"], territory, f["evolution"]["start"], f["year"])
                    for key in ("absolute", "percent", "annual_rate", "points", "status"):
                        assert f["evolution"][key] == getattr(ev, key), (f["indicator"], key)
                if refs:
                    compared = engine.compare(f["indicator"], territory, f["year"], references=[refs[0]]).iloc[1]
                    assert f["reference"]["value"] == none_if_nan(compared["value"])
                    assert f["reference"]["index_100"] == none_if_nan(compared["index_100"])


def test_references_in_memory_equal_the_engine(observatory, engine):
    ctx = AppContext(str(observatory))
    try:
        for (level, code), name in ctx.names.items():
            territory = ctx.territory(level, code)
            assert references(ctx, territory) == engine.references(territory), (level, code)
    finally:
        ctx.close()


def test_portrait_answers_are_cached_with_an_etag(client):
    r = client.get("/api/portrait/commune/62119")
    etag = r.headers["etag"]
    assert r.headers["content-encoding"] == "gzip"  # compressed once, served to every client accepting gzip
    again = client.get("/api/portrait/commune/62119", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    plain = client.get("/api/portrait/commune/62119", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json() == r.json()


# ------------------------------------------------------------------------------------------ compare
def test_compare_territories_side_by_side(client, engine):
    body = client.get("/api/compare", params={
        "codes": f"commune:62498,epci:{CALL},pole_metropolitain:PMA", "indicators": "population_legale,taux_chomage,revenu_median"}).json()
    assert [x["name"] for x in body["territories"]] == ["Lens", "CA de Lens - Liévin", "Pôle Métropolitain de l'Artois"]
    rows = {i["id"]: i for i in body["indicators"]}
    assert rows["population_legale"]["year"] == 2022
    assert [(v["value"], v["text"]) for v in rows["population_legale"]["values"]] == [
        (32000.0, "32\u202f000\u00a0habitants"), (62000.0, "62\u202f000\u00a0habitants"), (114500.0, "114\u202f500\u00a0habitants")]
    assert rows["taux_chomage"]["values"][2]["value"] == pytest.approx((2000 + 1800 + 1500 + 1200) / (14000 + 13000 + 12000 + 11000) * 100)
    # The median exists for the commune only: the latest year with a value for one of them, the others missing.
    assert rows["revenu_median"]["year"] == 2021
    assert [v["status"] for v in rows["revenu_median"]["values"]] == ["ok", "missing", "missing"]
    assert body["synthetic"] is True  # the census is synthetic

    keys = client.get("/api/compare", params={"codes": "commune:62498,commune:62510"}).json()
    assert [i["id"] for i in keys["indicators"]] == [d.id for d in engine.catalogue.values() if d.key]
    old = client.get("/api/compare", params={"codes": "commune:62498,commune:62510", "indicators": "population_legale", "year": 2016}).json()
    assert [v["value"] for v in old["indicators"][0]["values"]] == [31000.0, 31500.0]


def test_compare_refuses_bad_lists(client):
    cases = {
        "commune:62498": (400, "Paramètre « codes » : 2 à 4 territoires attendus, 1 reçu(s)."),
        "commune:62498,commune:62510,commune:62427,commune:62119,commune:62041":
            (400, "Paramètre « codes » : 2 à 4 territoires attendus, 5 reçu(s)."),
        "commune:62498,commune:99999": (404, "Aucun territoire n'a le code « 99999 » au niveau « commune »."),
        "62498,32": (409, "Le code « 32 » désigne des territoires de plusieurs niveaux (departement, region) : "
                          "écrivez NIVEAU:CODE, par exemple « departement:32 »."),
        "62498,62510": (200, None),
    }
    for codes, (status, detail) in cases.items():
        r = client.get("/api/compare", params={"codes": codes, "indicators": "population"})
        assert r.status_code == status, codes
        if detail:
            assert r.json() == {"detail": detail}


# ------------------------------------------------------------------------------------------ classes
def test_classes_and_histogram(client, engine):
    body = client.get("/api/classes", params={"indicator": "population_legale", "level": "commune", "k": 2}).json()
    values = np.array(POP_LEGALE[2022], dtype=float)
    assert body["year"] == 2022 and body["method"] == "quantiles"
    assert body["breaks"] == engine.classes("population_legale", "commune", 2022, "quantiles", 2)
    assert body["breaks"] == [float(np.quantile(values, 0.5)), 42000.0]
    assert [c["count"] for c in body["classes"]] == [3, 2]
    assert body["classes"][0]["text"] == "25\u202f500 – 30\u202f000\u00a0habitants"
    assert (body["count"], body["missing"], body["min"], body["max"]) == (5, 0, 25500.0, 42000.0)
    assert sum(body["histogram"]["counts"]) == 5 and len(body["histogram"]["edges"]) == 21
    manual = client.get("/api/classes", params={"indicator": "population_legale", "method": "manual", "bins": "28000,40000"}).json()
    assert manual["breaks"] == [28000.0, 40000.0, 42000.0] and [c["count"] for c in manual["classes"]] == [2, 2, 1]
    jenks = client.get("/api/classes", params={"indicator": "population_legale", "method": "jenks", "k": 3}).json()
    assert jenks["breaks"] == engine.classes("population_legale", "commune", 2022, "jenks", 3)
    equal = client.get("/api/classes", params={"indicator": "taux_chomage", "method": "equal", "k": 4}).json()
    assert equal["breaks"] == engine.classes("taux_chomage", "commune", 2021, "equal", 4)
    masked = client.get("/api/classes", params={"indicator": "taux_vacance"}).json()
    assert (masked["count"], masked["missing"]) == (4, 1)  # Liévin's secret value is not classified


def test_jenks_equals_mapclassify():
    rng = np.random.default_rng(7)
    for n, k in ((40, 3), (120, 5), (200, 6)):
        values = np.round(rng.lognormal(3, 1, n), 1)
        assert jenks_breaks(values, k) == [float(b) for b in mapclassify.FisherJenks(values, k=k).bins]
    assert jenks_breaks([4.0, 4.0, 4.0], 5) == [4.0]
    assert jenks_breaks([], 5) == []
    big = rng.lognormal(3, 1, 40_000)
    breaks = jenks_breaks(big, 5)
    assert len(breaks) == 5 and breaks[-1] == big.max() and breaks == sorted(breaks)


# ------------------------------------------------------------------------------------------ search
def test_search_ignores_accents_and_ranks(client):
    found = client.get("/api/search", params={"q": "lievin"}).json()["results"]
    assert [(r["level"], r["code"]) for r in found] == [
        ("commune", "62510"),            # the name itself
        ("epci", CALL),                  # a word of the name, larger level first
        ("qpv", QPV),
    ]
    assert found[0] == {"level": "commune", "code": "62510", "name": "Liévin", "level_label": "Commune", "tier": 1}
    assert [r["code"] for r in client.get("/api/search", params={"q": "62510"}).json()["results"]] == ["62510"]
    assert [r["name"] for r in client.get("/api/search", params={"q": "HENIN"}).json()["results"]] == [
        "Hénin-Beaumont", "CA d'Hénin-Carvin"]
    pas = client.get("/api/search", params={"q": "pas"}).json()["results"]
    assert pas[0]["name"] == "Pas-de-Calais"
    assert [r["level"] for r in client.get("/api/search", params={"q": "32"}).json()["results"]] == ["region", "departement"]
    assert client.get("/api/search", params={"q": "l'artois"}).json()["results"][0]["code"] == "PMA"
    assert [r["code"] for r in client.get("/api/search", params={"q": "ca", "level": "epci", "limit": 2}).json()["results"]] == [CAHC, CALL]
    assert client.get("/api/search", params={"q": "'; DROP TABLE territory; --"}).json()["count"] == 0
    assert normalise("L'Œuvre-sur-Mer") == "l oeuvre sur mer"


# ------------------------------------------------------------------------------------------ contours
def test_geo_contours_are_quantised_geojson_with_an_etag(client):
    r = client.get("/api/geo/commune")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    assert r.headers["cache-control"] == "public, max-age=600" and r.headers["etag"].startswith('"')
    body = r.json()
    assert (body["type"], body["level"], body["cog"]) == ("FeatureCollection", "commune", COG)
    assert [(f["id"], f["properties"]) for f in body["features"]] == [
        (c, {"code": c, "name": COMMUNES[c][0]}) for c in sorted(COMMUNES)]
    for feature in body["features"]:
        coords = np.array(feature["geometry"]["coordinates"][0])
        assert np.allclose(coords, np.round(coords, 5), atol=0, rtol=0)
        assert shape(feature["geometry"]).equals(COMMUNES[feature["id"]][2])
        assert shapely.Polygon(coords).exterior.is_ccw  # RFC 7946 orientation
    assert client.get("/api/geo/commune", headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    call = client.get("/api/geo/epci").json()["features"]
    assert shape(next(f for f in call if f["id"] == CALL)["geometry"]).equals(
        shapely.union_all([COMMUNES["62498"][2], COMMUNES["62510"][2]]))
    friches = client.get("/api/geo/layers/friches").json()
    assert [f["id"] for f in friches["features"]] == ["f1", "f2", "f3"]
    assert friches["features"][0]["properties"] == {"surface_ha": 2.5, "statut": "friche reconvertie", "id": "f1",
                                                    "name": "Friche de la fosse 11", "commune": "62498"}
    assert friches["features"][0]["geometry"] == {"type": "Point", "coordinates": [2.83, 50.43]}
    for url, detail in (
        ("/api/geo/region", "Le niveau « region » n'a pas de contours dans l'entrepôt (niveaux avec contours : commune, "
                            "departement, epci, pole_metropolitain, qpv)."),
        ("/api/geo/canton", "Niveau inconnu « canton » : niveaux disponibles : commune, departement, epci, "
                            "pole_metropolitain, qpv, region."),
        ("/api/geo/commune?cog=2019", "Pas de contours du niveau « commune » au COG 2019 : millésimes disponibles : 2026."),
        ("/api/geo/layers/eoliennes", "La couche « eoliennes » n'existe pas dans l'entrepôt (couches : friches, gares)."),
    ):
        r = client.get(url)
        assert (r.status_code, r.json()) == (404, {"detail": detail}), url


# ------------------------------------------------------------------------------------------ French numbers
def test_fast_french_numbers_equal_vigie_formatting():
    rng = random.Random(3)
    values = [0.0, -0.0, 0.05, -0.05, -0.04, 2.675, 0.5, 1.5, 2.5, 0.15, 0.25, 1e9, -123456.789, 0.125, 1e-7, -1e-7,
              12345678901234.5, 1e25, -3e40, float("inf"), float("-inf"), float("nan"), None, 0, 7, -12345, 10**30]
    values += [rng.uniform(-1e7, 1e7) for _ in range(300)] + [rng.uniform(-3, 3) for _ in range(300)]
    values += [round(rng.uniform(-100, 100), rng.randint(0, 4)) + 0.005 * rng.choice((-1, 1)) for _ in range(300)]
    for v in values:
        for d in (0, 1, 2):
            if isinstance(v, (int, float)) and 1e28 <= abs(v) < math.inf:  # beyond Babel (it raises): a text all the same
                assert french_numbers.number(v, d).replace("\u202f", "").startswith(("1000000", "-3000000"))
                continue
            assert french_numbers.number(v, d) == formatting.number(v, d)
            assert french_numbers.percent(v, d) == formatting.percent(v, d)
            assert french_numbers.signed_percent(v, d) == formatting.signed_percent(v, d)
            assert french_numbers.points(v, d) == formatting.points(v, d)
            for unit in ("%", "habitants", "€", ""):
                assert french_numbers.quantity(v, unit, d) == formatting.quantity(v, unit, d)


# ------------------------------------------------------------------------------------------ bad parameters
BAD_ENGINE_REQUESTS = [
    ("/api/cube", {"indicator": "chomage_martien"}, 404),
    ("/api/cube", {"indicator": "population", "level": "canton"}, 404),
    ("/api/cube", {"indicator": "population", "year": 1850}, 404),
    ("/api/cube", {"indicator": "population", "year": "deux-mille"}, 422),
    ("/api/cube", {"indicator": "population", "codes": "'; DROP TABLE cube; --"}, 400),
    ("/api/cube", {"indicator": "'; DROP TABLE cube; --"}, 404),
    ("/api/cube", {"indicator": "population", "within": "epci:999999999"}, 404),
    ("/api/cube", {"indicator": "population", "within": "pas un code"}, 400),
    ("/api/cube", {}, 422),
    ("/api/portrait/commune/99999", {}, 404),
    ("/api/portrait/canton/62498", {}, 404),
    ("/api/portrait/commune/62498", {"reference": "departement:99"}, 404),
    ("/api/portrait/commune/62498", {"reference": "32"}, 409),
    ("/api/portrait/commune/' OR 1=1 --", {}, 400),
    ("/api/compare", {"codes": ""}, 400),
    ("/api/compare", {"codes": "commune:62498,commune:62510", "indicators": "population,inconnu"}, 404),
    ("/api/compare", {"codes": "commune:62498,commune:62510", "indicators": "Robert'); DROP TABLE--"}, 400),
    ("/api/classes", {"indicator": "population", "method": "au_hasard"}, 400),
    ("/api/classes", {"indicator": "population", "method": "manual"}, 400),
    ("/api/classes", {"indicator": "population", "method": "manual", "bins": "10,5"}, 400),
    ("/api/classes", {"indicator": "population", "method": "manual", "bins": "1,deux"}, 400),
    ("/api/classes", {"indicator": "population", "method": "manual", "bins": "1,inf"}, 400),
    ("/api/classes", {"indicator": "population", "k": 0}, 422),
    ("/api/classes", {"indicator": "population", "k": 1000}, 422),
    ("/api/classes", {"indicator": "population", "k": -3}, 422),
    ("/api/classes", {"indicator": "population", "year": 2099}, 404),
    ("/api/search", {"q": ""}, 400),
    ("/api/search", {"q": "x" * 500}, 400),
    ("/api/search", {"q": "lens", "level": "canton"}, 404),
    ("/api/search", {"q": "lens", "limit": -1}, 422),
    ("/api/search", {}, 422),
    ("/api/geo/commune", {"cog": "demain"}, 422),
    ("/api/catalogue", {"theme": "astrologie"}, 404),
]


@pytest.mark.parametrize("url, query, status", BAD_ENGINE_REQUESTS)
def test_bad_parameters_answer_in_french_never_500(client, url, query, status):
    r = client.get(url, params=query)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail and detail[0].isupper()
    assert not any(word in detail for word in ("Traceback", "Error", "duckdb", "SELECT"))


# Every endpoint × hostile values: a 4xx with a French detail, never a 500 (the test client re-raises any
# server error). An empty query value is left out: it means "not given" for an optional parameter.
HOSTILE = ["inconnu", "'; DROP TABLE cube; --", "-1", "1e309", "x" * 300, "\u0000", "🙂", "..%2F..%2Fetc%2Fpasswd", "NaN",
           "99999999999999999999999"]
ENDPOINTS = [
    "/api/cube?indicator={}", "/api/cube?indicator=population&level={}",
    "/api/cube?indicator=population&year={}", "/api/cube?indicator=population&codes={}",
    "/api/cube?indicator=population&within={}",
    "/api/portrait/commune/{}", "/api/portrait/{}/62498", "/api/portrait/commune/62498?reference={}",
    "/api/compare?codes=commune:62498,{}", "/api/compare?codes=commune:62498,commune:62510&indicators={}",
    "/api/compare?codes=commune:62498,commune:62510&year={}",
    "/api/classes?indicator={}", "/api/classes?indicator=population&method={}",
    "/api/classes?indicator=population&k={}", "/api/classes?indicator=population&method=manual&bins={}",
    "/api/classes?indicator=population&level={}",
    "/api/search?q=lens&level={}", "/api/search?q=lens&limit={}",
    "/api/catalogue/{}", "/api/geo/{}", "/api/geo/commune?cog={}", "/api/geo/layers/{}",
    "/api/export?indicator={}", "/api/export?indicator=population&format={}",
    "/api/export?indicator=population&level={}", "/api/export?indicator=population&codes={}",
    "/api/export?indicator=population&year={}",
    "/tiles/{}/5/16/10.mvt", "/tiles/commune/{}/0/0.mvt", "/tiles/commune/5/{}/10.mvt",
    "/tiles/{}.json",
    "/ogc/collections/{}", "/ogc/collections/{}/items", "/ogc/collections/communes/items/{}",
    "/ogc/collections/communes/items?bbox={}", "/ogc/collections/communes/items?limit={}",
    "/ogc/collections/communes/items?offset={}", "/ogc/collections/communes/items?{}=1",
    "/api/territories/commune/{}", "/api/values?indicator={}", "/api/layers/{}", "/api/territories?cog={}",
    "/api/territories/commune/62498?cog={}", "/api/territories/commune/62498/geometry?cog={}",
    "/api/values?indicator=population&year={}", "/api/values?indicator=population&cog={}",
    "/api/indicators/{}",
]
# Where a hostile value still makes a valid request: one class bound at -1 or at 10²³; a limit above the maximum,
# which the OGC standard says to lower to it rather than refuse.
ACCEPTED = {("/api/classes?indicator=population&method=manual&bins={}", "-1"),
            ("/api/classes?indicator=population&method=manual&bins={}", "99999999999999999999999"),
            ("/ogc/collections/communes/items?limit={}", "99999999999999999999999")}


@pytest.mark.parametrize("template", ENDPOINTS)
def test_every_endpoint_rejects_hostile_values(client, template):
    for value in HOSTILE:
        url = template.format(quote(value, safe=""))
        r = client.get(url)
        if (template, value) in ACCEPTED:
            assert r.status_code == 200, url
            continue
        assert 400 <= r.status_code < 500, (url, r.status_code, r.text[:200])
        detail = r.json()["detail"]
        assert isinstance(detail, str) and detail[:1].isupper(), (url, detail)
        assert not any(word in detail for word in ("Traceback", "Exception", "duckdb", "SELECT ", "psycopg")), (url, detail)


@pytest.mark.postgres
def test_the_same_answers_from_postgis(pg_url, tmp_path, client):
    wh = connect(pg_url)
    try:
        build_observatory(wh, tmp_path)
    finally:
        wh.close()
    with TestClient(create_app(pg_url)) as pg:
        for url in ("/api/portrait/commune/62498", f"/api/portrait/qpv/{QPV}", "/api/cube?indicator=taux_vacance",
                    "/api/compare?codes=commune:62498,epci:246200364", "/api/classes?indicator=population_legale&k=3",
                    "/api/search?q=lievin", "/api/catalogue/taux_chomage"):
            got, want = pg.get(url).json(), client.get(url).json()
            assert json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True) or _close(got, want), url
        # The map's overview images, drawn from the PostGIS contours: the same colour at each commune's centre.
        import io

        from PIL import Image

        from vigie.publish.overview import PIXELS

        for code, (_name, _epci, rectangle) in COMMUNES.items():
            lon, lat = rectangle.centroid.x, rectangle.centroid.y
            fx, fy = (lon + 180.0) / 360.0 * 64, (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * 64
            url = f"/api/map/image/commune/6/{int(fx)}/{int(fy)}.png?indicator=taux_chomage&k=2"
            pixels = [Image.open(io.BytesIO(c.get(url).content)).convert("RGBA").getpixel((int(fx % 1 * PIXELS), int(fy % 1 * PIXELS)))
                      for c in (pg, client)]
            assert pixels[0] == pixels[1] and pixels[0][3] == 255, (code, pixels)


def _close(a, b) -> bool:
    """Equal up to float rounding (PostgreSQL and DuckDB may sum in another order)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b
