"""Exports (CSV, XLSX, GeoJSON, GeoPackage) read back with the csv module, openpyxl and pyogrio, and compared with
the engine's values, on the small Artois warehouse of `test_api_engine` (Liévin's vacant dwellings are secret,
the census is synthetic)."""

from __future__ import annotations

import csv
import io
import json
import re

import openpyxl
import pyogrio
import pytest
from shapely.geometry import shape

from tests.test_api_engine import CALL, COMMUNES, POP_LEGALE, l93
from vigie.engine.query import Engine
from vigie.publish.exports import ascii_name, decimal_comma

SYNTHETIC = "données fictives de démonstration"








def engine_values(engine: Engine, indicator: str, level: str, year: int) -> dict[str, tuple]:
    frame = engine.values(indicator, level, years=[year])
    return {c: (None if v != v else v, s) for c, v, s in zip(frame["code"], frame["value"], frame["status"])}


def download(client, **query):
    r = client.get("/api/export", params=query)
    assert r.status_code == 200, r.text
    return r


# ------------------------------------------------------------------------------------------ CSV
def test_csv_for_french_spreadsheets(client, engine):
    r = download(client, indicators="population_legale,taux_vacance,taux_chomage", level="commune", format="csv")
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == (
        'attachment; filename="vigie_population_legale_taux_vacance_taux_chomage_commune_2021-2022.csv"')
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    header, lines = rows[0], rows[1:]
    assert header == [
        "Code", "Nom", "Niveau",
        "Population municipale légale (habitants), 2022", "Statut : Population municipale légale",
        "Taux de vacance des logements (%), 2021", "Statut : Taux de vacance des logements",
        "Taux de chômage des 15-64 ans (recensement) (%), 2021", "Statut : Taux de chômage des 15-64 ans (recensement)",
        "Source : Population municipale légale", "Millésime : Population municipale légale",
        "Source : Taux de vacance des logements", "Millésime : Taux de vacance des logements",
        "Source : Taux de chômage des 15-64 ans (recensement)", "Millésime : Taux de chômage des 15-64 ans (recensement)",
    ]
    assert [line[0] for line in lines] == sorted(COMMUNES)  # one line per commune, codes as text
    by_code = {line[0]: line for line in lines}
    lens = by_code["62498"]
    assert lens[:5] == ["62498", "Lens", "Commune", "32000", "disponible"]
    assert lens[5] == "10" and lens[7] == "14,285714"
    assert lens[9:] == ["INSEE, populations légales", "2022",
                        f"INSEE, recensement de la population (exploitation principale) — {SYNTHETIC}", "2021",
                        f"INSEE, recensement de la population (exploitation principale) — {SYNTHETIC}", "2021"]
    assert by_code["62510"][5:7] == ["", "secret statistique"]  # never the stored 42
    assert "42" not in by_code["62510"][5]
    # Every number is the engine's, read back from the decimal comma.
    for indicator, column, year in (("population_legale", 3, 2022), ("taux_vacance", 5, 2021), ("taux_chomage", 7, 2021)):
        expected = engine_values(engine, indicator, "commune", year)
        for code, line in by_code.items():
            value, status = expected[code]
            got = None if line[column] == "" else float(line[column].replace(",", "."))
            assert got == (None if value is None else pytest.approx(value, abs=1e-6)), (indicator, code)


def test_csv_of_some_territories_within_an_epci(client):
    text = download(client, indicator="population_legale", level="commune", within=f"epci:{CALL}", year=2016).content.decode("utf-8-sig")
    lines = [line.split(";") for line in text.strip().split("\r\n")]
    assert [(line[0], line[3]) for line in lines[1:]] == [("62498", "31000"), ("62510", "31500")]
    text = download(client, indicator="population_legale", level="epci", codes=f"{CALL}").content.decode("utf-8-sig")
    assert text.split("\r\n")[1].startswith(f"{CALL};CA de Lens - Liévin;EPCI;62000;disponible;")


def test_decimal_comma_and_ascii_names():
    assert [decimal_comma(v) for v in (None, 0.0, -0.0, 1234.5, 2 / 3, -1.25e-7, 1e12)] == [
        "", "0", "0", "1234,5", "0,666667", "0", "1000000000000"]
    assert ascii_name("Taux de chômage à Liévin / Hénin") == "taux_de_chomage_a_lievin_henin"


# ------------------------------------------------------------------------------------------ XLSX
def test_xlsx_with_a_metadata_sheet(client, engine):
    r = download(client, indicators="population_legale,taux_vacance", level="commune", format="xlsx")
    assert r.headers["content-disposition"].endswith('.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["Données", "Métadonnées"]
    data = book["Données"]
    rows = list(data.iter_rows(values_only=True))
    assert rows[0] == ("Code", "Nom", "Niveau", "Population municipale légale (habitants), 2022",
                       "Statut : Population municipale légale", "Taux de vacance des logements (%), 2021",
                       "Statut : Taux de vacance des logements", "Remarque")
    by_code = {row[0]: row for row in rows[1:]}
    assert set(by_code) == set(COMMUNES)
    assert by_code["62498"] == ("62498", "Lens", "Commune", 32000, "disponible", pytest.approx(10.0), "disponible", SYNTHETIC)
    assert by_code["62510"][5:7] == (None, "secret statistique")
    assert data["D2"].number_format == "#,##0" and data["F2"].number_format == "#,##0.0"
    expected = engine_values(engine, "population_legale", "commune", 2022)
    assert {c: row[3] for c, row in by_code.items()} == {c: v for c, (v, _s) in expected.items()}

    meta = [row for row in book["Métadonnées"].iter_rows(values_only=True)]
    flat = [str(cell) for row in meta for cell in row if cell is not None]
    header = next(row for row in meta if row and row[0] == "Indicateur")
    assert header[:10] == ("Indicateur", "Identifiant", "Unité", "Millésime", "Nature", "Définition", "Source",
                           "Fichiers importés", "Licence", "Données fictives")
    pl = next(row for row in meta if row and row[1] == "population_legale")
    assert pl[3] == "2022" and pl[6] == "INSEE, populations légales" and pl[8] == "Licence Ouverte / Etalab 2.0"
    assert pl[7] == "Valeurs de l'Artois (test) — INSEE (extrait de test)" and pl[9] == "non"
    vacancy = next(row for row in meta if row and row[1] == "taux_vacance")
    assert vacancy[9] == SYNTHETIC and vacancy[5].startswith("Logements vacants rapportés")
    assert any("secret statistique" in cell for cell in flat)
    assert any(cell.startswith(f"Attention : certaines valeurs sont des {SYNTHETIC}") for cell in flat)


# ------------------------------------------------------------------------------------------ GeoJSON, GeoPackage
def test_geojson_with_contours_and_metadata(client, engine):
    r = download(client, indicators="population_legale,taux_vacance", level="epci", format="geojson")
    assert r.headers["content-type"] == "application/geo+json"
    body = json.loads(r.content)
    assert body["metadata"]["synthetic"] is True and body["metadata"]["synthetic_mark"] == SYNTHETIC
    assert [i["id"] for i in body["metadata"]["indicators"]] == ["population_legale", "taux_vacance"]
    features = {f["id"]: f for f in body["features"]}
    call = features[CALL]
    assert call["properties"] == {"code": CALL, "nom": "CA de Lens - Liévin", "niveau": "epci",
                                  "population_legale": 62000.0, "population_legale_statut": "ok",
                                  "taux_vacance": None, "taux_vacance_statut": "secret", "donnees_fictives": True}
    assert shape(call["geometry"]).equals(COMMUNES["62498"][2].union(COMMUNES["62510"][2]))
    # Read back by GDAL too.
    frame = pyogrio.read_dataframe(io.BytesIO(r.content))
    assert sorted(frame["code"]) == sorted(features)
    expected = engine_values(engine, "population_legale", "epci", 2022)
    assert dict(zip(frame["code"], frame["population_legale"])) == {c: v for c, (v, _s) in expected.items()}


def test_geopackage_in_lambert93_with_a_metadata_table(client, engine, tmp_path):
    r = download(client, indicators="population_legale,taux_vacance", level="commune", format="gpkg")
    assert r.headers["content-type"] == "application/geopackage+sqlite3"
    path = tmp_path / "export.gpkg"
    path.write_bytes(r.content)
    layers = {name: kind for name, kind in pyogrio.list_layers(path)}
    assert layers == {"vigie_commune": "MultiPolygon", "metadonnees": None}
    frame = pyogrio.read_dataframe(path, layer="vigie_commune")
    assert frame.crs.to_epsg() == 2154
    rows = frame.set_index("code")
    assert rows.loc["62498", "nom"] == "Lens" and rows.loc["62498", "population_legale"] == 32000.0
    assert rows.loc["62510", "taux_vacance_statut"] == "secret" and rows.loc["62510", "taux_vacance"] != rows.loc["62510", "taux_vacance"]
    assert rows.loc["62498", "geometry"].equals(l93(COMMUNES["62498"][2]))
    expected = engine_values(engine, "taux_vacance", "commune", 2021)
    for code, row in rows.iterrows():
        value, status = expected[code]
        assert row["taux_vacance_statut"] == status
        assert (row["taux_vacance"] != row["taux_vacance"]) if value is None else row["taux_vacance"] == pytest.approx(value)
    meta = pyogrio.read_dataframe(path, layer="metadonnees")
    assert list(meta["Identifiant"]) == ["population_legale", "taux_vacance"]
    assert list(meta["Données fictives"]) == ["non", SYNTHETIC]


# ------------------------------------------------------------------------------------------ bad requests
@pytest.mark.parametrize("query, status, detail", [
    ({"indicator": "population", "format": "pdf"}, 400, "Paramètre « format » : « pdf » inconnu ; formats : csv, xlsx, geojson, gpkg."),
    ({}, 400, "Indiquez au moins un indicateur : paramètre « indicator » ou « indicators »."),
    ({"indicator": "inconnu"}, 404, "L'indicateur « inconnu » n'est pas au catalogue."),
    ({"indicator": "population", "level": "canton"}, 404, None),
    ({"indicator": "population_legale", "year": 1990}, 404,
     "Pas de donnée pour l'indicateur « population_legale » au niveau « commune » en 1990 : années disponibles : 2016, 2022."),
    ({"indicator": "population", "codes": "62498,99999"}, 404, "Aucun territoire de niveau « commune » n'a le code « 99999 »."),
    ({"indicator": "population", "codes": "62498;DROP TABLE cube"}, 400, None),
    ({"indicators": ",".join(["population"] * 3 + [f"x{i}" for i in range(40)])}, 400, None),
    ({"indicator": "population", "within": "epci:000"}, 404, None),
    ({"indicator": "population", "year": "l'an dernier"}, 422, None),
])
def test_bad_export_requests(client, query, status, detail):
    r = client.get("/api/export", params=query)
    assert r.status_code == status, r.text
    if detail:
        assert r.json() == {"detail": detail}
    assert r.json()["detail"] and not re.search(r"Traceback|Error", r.json()["detail"])


def test_year_columns_follow_each_indicator(client):
    """Without a year, each indicator is at its latest year; with one, all at that year."""
    header = download(client, indicators="population_legale,population").content.decode("utf-8-sig").split("\r\n")[0]
    assert "Population municipale légale (habitants), 2022" in header and "Population municipale (habitants), 2021" in header
    assert POP_LEGALE[2022][0] == 32000
