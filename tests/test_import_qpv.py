"""QPV importer (kind "qpv"): territories, contours and weighted memberships QPV → commune, hand-checked.

Fixture `qpv_l93.geojson` (ANCT properties): QN06224M is the rectangle [689 700, 690 500] × [7 030 200, 7 030 700],
300 m in Liévin and 500 m in Lens over 500 m: 0.40 km², weights 0.375 (Liévin) and 0.625 (Lens); QN06227M is a
200 m square inside Lens (0.04 km², weight 1). `listeqp2024-cog2024.csv` follows the official ANCT list.
"""

from __future__ import annotations

import pandas as pd
import pytest

from vigie.sources.base import run_import
from vigie.sources.contours import ContoursImporter
from vigie.sources.qpv import QpvImporter
from tests.support import add_source, seed_communes
from tests.test_import_geo import FIXTURES, fails, geometry_rows, seed_artois, write_geojson, feature, LENS


def memberships(wh, cog: int = 2026) -> dict[tuple[str, str], float]:
    rows = wh.query("SELECT child_code, parent_code, weight FROM membership WHERE child_level = 'qpv' AND cog = ? "
                    "AND parent_level = 'commune' ORDER BY 1, 2", (cog,))
    return {(q, c): float(w) for q, c, w in rows}


def test_a_qpv_straddling_two_communes_is_weighted_by_area(backend_wh):
    wh = backend_wh
    seed_artois(wh)
    run_import(wh, ContoursImporter(FIXTURES / "communes_l93.geojson", level="commune"))
    report = run_import(wh, QpvImporter(FIXTURES / "qpv_l93.geojson"))
    assert report.rows == {"territory": 2, "territory_geometry": 2, "membership": 3}
    assert memberships(wh) == pytest.approx({
        ("QN06224M", "62498"): 0.625, ("QN06224M", "62510"): 0.375, ("QN06227M", "62498"): 1.0,
    })
    assert report.messages == [
        "COG 2026 : 1 QPV s'étend sur plusieurs communes ; poids des appartenances QPV → commune : 1 au prorata de la "
        "surface du QPV dans chaque commune (contours communaux de l'entrepôt)."
    ]
    assert {c: r[1] for c, r in geometry_rows(wh, "qpv").items()} == pytest.approx({"QN06224M": 0.4, "QN06227M": 0.04})
    names = dict(wh.query("SELECT code, name FROM territory WHERE level = 'qpv' AND cog = 2026"))
    assert names == {"QN06224M": "Cité 12-14", "QN06227M": "Cité 4 - Cité 9"}
    assert wh.sources().iloc[-1]["dataset"] == "qpv:2024"


def test_without_commune_contours_the_shares_are_equal_and_said(wh):
    seed_artois(wh)
    report = run_import(wh, QpvImporter(FIXTURES / "qpv_l93.geojson"))
    assert memberships(wh) == {("QN06224M", "62498"): 0.5, ("QN06224M", "62510"): 0.5, ("QN06227M", "62498"): 1.0}
    assert "1 à parts égales, faute de contours communaux dans l'entrepôt (QN06224M)" in report.messages[0]


def test_the_official_list_with_bom_semicolons_and_lost_leading_zeros(wh):
    communes = {"01053": "Bourg-en-Bresse", "62276": "Douvrin", "62401": "Haisnes", "62464": "Hulluch",
                "62498": "Lens", "62528": "Loos-en-Gohelle"}
    seed_communes(wh, communes, cog=2024)
    seed_communes(wh, communes, cog=2025)
    report = run_import(wh, QpvImporter(FIXTURES / "listeqp2024-cog2024.csv", cogs="2024,2025"))
    assert report.rows == {"territory": 6, "membership": 12}
    expected = {("QN00101M", "01053"): 1.0, ("QN06216M", "62276"): 1 / 3, ("QN06216M", "62401"): 1 / 3,
                ("QN06216M", "62464"): 1 / 3, ("QN06224M", "62498"): 0.5, ("QN06224M", "62528"): 0.5}
    assert memberships(wh, 2024) == pytest.approx(expected) and memberships(wh, 2025) == pytest.approx(expected)
    assert report.messages[0] == "listeqp2024-cog2024.csv : 1 code(s) commune complété(s) d'un zéro initial perdu (champ « insee_com »)."
    assert "faute de contours dans le fichier" in report.messages[1]
    assert wh.query("SELECT count(*) FROM territory_geometry") == [(0,)]
    assert wh.query("SELECT name FROM territory WHERE code = 'QN06216M' AND cog = 2025") == [("Quartier Saint-Elie - Fosse 13",)]


def test_an_unknown_commune_names_the_line_and_insee_com(wh):
    seed_communes(wh, {"01053": "Bourg-en-Bresse", "62276": "Douvrin", "62401": "Haisnes", "62464": "Hulluch",
                       "62498": "Lens"}, cog=2026)
    error = fails(wh, QpvImporter(FIXTURES / "listeqp2024-cog2024.csv"), line=4, column="insee_com")
    assert "62528" in error.message and "COG 2026" in error.message
    seed_artois(wh, cog=2025)
    error = fails(wh, QpvImporter(FIXTURES / "qpv_l93.geojson", cogs=[2025, 2026]), line=1, column="insee_com")
    assert "62510" in error.message and "COG 2026" in error.message


def test_duplicated_qpv_and_missing_field(wh, tmp_path):
    seed_artois(wh)
    qpv = {"code_qp": "QN06227M", "lib_qp": "Cité 4", "insee_com": "62498"}
    path = write_geojson(tmp_path / "qpv.geojson", [feature(qpv, LENS), feature({**qpv, "lib_qp": "Autre"}, LENS)], crs=2154)
    error = fails(wh, QpvImporter(path), line=2, column="code_qp")
    assert "entités n° 1 et n° 2" in error.message
    path = write_geojson(tmp_path / "qpv2.geojson", [feature({"code_qp": "QN06227M", "lib_qp": "Cité 4"}, LENS)], crs=2154)
    fails(wh, QpvImporter(path), line=None, column="insee_com")
    path = write_geojson(tmp_path / "qpv3.geojson", [feature({**qpv, "code_qp": "62498"}, LENS)], crs=2154)
    error = fails(wh, QpvImporter(path), line=1, column="code_qp")
    assert "mal formé" in error.message


def test_importing_the_contours_after_the_list_replaces_it(wh, tmp_path):
    seed_artois(wh)
    run_import(wh, ContoursImporter(FIXTURES / "communes_l93.geojson", level="commune"))
    liste = tmp_path / "qpv2024_liste.csv"
    liste.write_text("code_qp,lib_qp,insee_com,lib_com,pma_epci\nQN06224M,Cité 12-14,62498;62510,Lens;Liévin,CALL\n",
                     encoding="utf-8")
    run_import(wh, QpvImporter(liste))
    assert memberships(wh) == {("QN06224M", "62498"): 0.5, ("QN06224M", "62510"): 0.5}
    run_import(wh, QpvImporter(FIXTURES / "qpv_l93.geojson"))
    assert memberships(wh) == pytest.approx({("QN06224M", "62498"): 0.625, ("QN06224M", "62510"): 0.375,
                                             ("QN06227M", "62498"): 1.0})
    assert wh.query("SELECT count(*) FROM source WHERE kind = 'qpv'") == [(1,)]
    digest = wh.digest()
    assert run_import(wh, QpvImporter(FIXTURES / "qpv_l93.geojson")).unchanged and wh.digest() == digest


def test_an_older_vintage_borrows_the_contours_of_unchanged_communes(wh):
    seed_artois(wh, cog=2025)
    seed_artois(wh, cog=2026)
    run_import(wh, ContoursImporter(FIXTURES / "communes_l93.geojson", level="commune", cog=2026))
    report = run_import(wh, QpvImporter(FIXTURES / "qpv_l93.geojson", cogs=[2025, 2026]))
    expected = {("QN06224M", "62498"): 0.625, ("QN06224M", "62510"): 0.375, ("QN06227M", "62498"): 1.0}
    assert memberships(wh, 2025) == pytest.approx(expected) and memberships(wh, 2026) == pytest.approx(expected)
    assert "(contours communaux du COG 2026, pour des communes identiques au COG 2025)" in report.messages[0]
    # Liévin absorbed a commune on 1 January 2026: its 2026 contour says nothing of 2025.
    sid = add_source(wh, dataset="test:passage")
    wh.insert_frame("passage", pd.DataFrame([(2025, 2026, "62999", "62510", "fusion", 1.0, sid)],
                                            columns=["cog_from", "cog_to", "code_from", "code_to", "change", "weight", "source_id"]))
    run_import(wh, QpvImporter(FIXTURES / "qpv_l93.geojson", cogs="2025-2026"))
    assert memberships(wh, 2025)[("QN06224M", "62510")] == 0.5
    assert memberships(wh, 2026)[("QN06224M", "62510")] == pytest.approx(0.375)
