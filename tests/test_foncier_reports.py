"""The atlas and ZAN publications over the demo warehouse: the zone fiche PDF, the ZAN report PDF (read back with
pypdf: the figures of `atlas.py` / `zan.py` as printed in French, page counts, the map page rasterised by
`pdftoppm` and looked at), their XLSX data packs, unknown zone / territory errors in French, and the atlas layer
exports (GeoPackage read back with pyogrio, XLSX with openpyxl) from the CLI and the API."""

from __future__ import annotations

import io
import re
import subprocess

import openpyxl
import pyogrio
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from typer.testing import CliRunner

from tests.browser_support import png_pixels
from vigie import formatting as fmt
from vigie.errors import NotFoundError
from vigie.modules.foncier import report_zan, report_zone
from vigie.warehouse import connect

CALL = "246200364"
CAHC = "246200299"


def plain(text: str) -> str:
    """Text with every kind of space made a plain one, and runs of spaces collapsed (pypdf keeps U+202F…)."""
    return re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\u00a0", " "))


def pdf_text(path) -> tuple[int, str]:
    reader = PdfReader(str(path))
    return len(reader.pages), plain("\n".join(p.extract_text() for p in reader.pages))


@pytest.fixture(scope="module")
def demo(demo_warehouse):
    wh = connect(str(demo_warehouse), create=False, read_only=True)
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def zone(demo):
    """The demo zone with the most friches around it (then the most plots), and its figures computed by hand."""
    site_id = demo.query(
        "SELECT s.site_id FROM foncier_site s LEFT JOIN layer_feature f ON f.layer = 'friches' AND ST_DWithin(s.geom, f.geom, 200) "
        "GROUP BY s.site_id ORDER BY count(f.feature_id) DESC, (SELECT count(*) FROM foncier_plot p WHERE p.site_id = s.site_id) DESC, "
        "s.site_id LIMIT 1")[0][0]
    name, gross, usable = demo.query("SELECT name, gross_ha, usable_ha FROM foncier_site WHERE site_id = ?", (site_id,))[0]
    plots = demo.query("SELECT count(*) FROM foncier_plot WHERE site_id = ?", (site_id,))[0][0]
    establishments = demo.query("SELECT count(*) FROM foncier_establishment WHERE active AND site_id = ?", (site_id,))[0][0]
    friches = demo.query("SELECT count(*) FROM foncier_site s JOIN layer_feature f ON f.layer = 'friches' "
                         "AND ST_DWithin(s.geom, f.geom, 200) WHERE s.site_id = ?", (site_id,))[0][0]
    return {"id": site_id, "name": name, "gross": gross, "usable": usable, "plots": plots,
            "establishments": establishments, "friches": friches}


def test_zone_fiche_prints_the_atlas_figures_and_its_data_pack(demo, zone, tmp_path):
    from vigie.modules.foncier.atlas import zone_table

    [data] = report_zone.collect(demo, [zone["id"]])
    pdf, xlsx = tmp_path / "fiche.pdf", tmp_path / "fiche.xlsx"
    pages = report_zone.write(data, pdf, xlsx)
    count, text = pdf_text(pdf)
    assert pages == count == 2
    row = zone_table(demo).set_index("site_id").loc[zone["id"]]
    assert zone["friches"] >= 1 and data.figures["friches_inside"] + data.figures["friches_near"] == zone["friches"]
    assert data.figures["plots"] == zone["plots"] and data.figures["establishments"] == zone["establishments"]
    for printed in (zone["name"], "Données fictives de démonstration", "page 1 sur 2",
                    f"Surface brute {plain(fmt.quantity(zone['gross'], 'ha', 1))}",
                    f"Surface utile {plain(fmt.quantity(zone['usable'], 'ha', 1))}",
                    f"Surface disponible {plain(fmt.quantity(row['available_ha'], 'ha', 1))}",
                    f"Taux de vacance {plain(fmt.percent(row['vacancy_rate'], 1))}",
                    f"Établissements actifs {zone['establishments']}",
                    f"Emplois estimés {plain(fmt.number(row['jobs']))}",
                    "Terrains par stade de commercialisation", "Établissements et emplois par filière",
                    "Historique des statuts (extrait)", "Sources et millésimes", "Zone d'activités"):
        assert printed in text, printed
    for _fid, name, _dist in data.friches:
        assert name in text
    total_row = f"Total {zone['establishments']} {plain(fmt.number(row['jobs']))}"
    assert total_row in text

    book = openpyxl.load_workbook(xlsx, read_only=True)
    rows = list(book["Chiffres"].iter_rows(values_only=True))
    by_indicator = {r[1]: r for r in rows[1:]}
    assert by_indicator["gross_ha"][8] == pytest.approx(zone["gross"])
    assert by_indicator["establishments"][8] == zone["establishments"]
    assert by_indicator["gross_ha"][13] == "oui"  # synthetic flag
    assert sum(r[8] for r in rows[1:] if r[1] == "plots_by_status") == zone["plots"]


def test_zone_fiche_map_page_is_drawn(demo, zone, tmp_path):
    [data] = report_zone.collect(demo, [zone["id"]])
    pdf = tmp_path / "fiche.pdf"
    report_zone.render(data, pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    png = next(tmp_path.glob("page*.png")).read_bytes()
    width, height, channels, pixels = png_pixels(png)
    # the map frame sits under the key figures: count plot greys / zone blues / establishment purples in the upper half
    zone_blue = plot_fill = establishment = 0
    for y in range(height // 4, height * 2 // 3):
        for x in range(0, width, 2):
            i = (y * width + x) * channels
            r, g, b = pixels[i], pixels[i + 1], pixels[i + 2]
            if abs(r - 0x1d) < 25 and abs(g - 0x4e) < 25 and abs(b - 0x89) < 25:
                zone_blue += 1
            elif abs(r - 0x8d) < 12 and abs(g - 0x99) < 12 and abs(b - 0xa6) < 12:
                plot_fill += 1
            elif abs(r - 0x7a) < 30 and abs(g - 0x1f) < 30 and abs(b - 0x5c) < 30:
                establishment += 1
    assert zone_blue > 50, "le périmètre de la zone n'est pas dessiné"
    assert plot_fill + establishment > 200, "ni terrains ni établissements sur la carte"


def test_unknown_zone_and_epci_are_clear_french_errors(demo, demo_warehouse, tmp_path):
    with pytest.raises(NotFoundError, match="Aucune zone d'activité n'a l'identifiant « ZAE-INCONNUE »"):
        report_zone.collect(demo, ["ZAE-INCONNUE"])
    with pytest.raises(NotFoundError, match="Aucun EPCI n'a le SIREN « 999999999 »"):
        report_zone.collect(demo, None, epci="999999999")
    from vigie.cli import app

    runner = CliRunner()
    bad = runner.invoke(app, ["--base", str(demo_warehouse), "foncier", "fiche", "ZAE-INCONNUE", "-o", str(tmp_path)])
    assert bad.exit_code == 1 and "Aucune zone d'activité" in bad.output
    done = runner.invoke(app, ["--base", str(demo_warehouse), "foncier", "fiches", "--epci", CAHC, "-o", str(tmp_path)])
    assert done.exit_code == 0, done.output
    n = demo.query("SELECT count(*) FROM foncier_site s JOIN membership m ON m.child_level = 'commune' AND m.child_code = s.commune "
                   "AND m.parent_level = 'epci' AND m.parent_code = ? AND m.cog = (SELECT max(cog) FROM membership)", (CAHC,))[0][0]
    assert n > 0 and len(list(tmp_path.glob("fiche-zone-*.pdf"))) == n == len(list(tmp_path.glob("fiche-zone-*.xlsx")))
    assert f"{n} publication(s) produite(s), 0 en échec" in plain(done.output)


def test_zan_report_prints_the_trajectory(demo, tmp_path):
    data = report_zan.collect(demo, CALL)
    t = data.trajectory
    pdf, xlsx, pages = report_zan.write(data, tmp_path)
    count, text = pdf_text(pdf)
    assert pdf.name == f"rapport-zan-{CALL}.pdf" and pages == count and 4 <= pages <= 7
    # the reference decade by hand: the ten annual flows 2011 → 2020 of the series
    reference = sum(r["total_m2"] for r in t["series"] if 2011 <= r["year"] <= 2020)
    assert t["reference"]["m2"] == pytest.approx(reference)
    envelope = sum(c["envelope_m2"] for c in t["communes"])
    assert t["envelope"]["m2"] == pytest.approx(envelope)
    assert all(c["envelope_m2"] >= 10_000 for c in t["communes"])  # the 1 ha floor
    ha = lambda m2, d=1: plain(fmt.quantity(m2 / 10_000, "ha", d))  # noqa: E731
    p = t["projection"]
    for printed in ("Rapport ZAN — CA de Lens - Liévin", "Données fictives de démonstration",
                    f"Consommation de référence 2011-2020 {ha(reference)}",
                    f"Enveloppe 2021-2030 {ha(envelope)}",
                    f"Enveloppe restante {ha(t['remaining_m2'])}",
                    f"Consommation projetée 2021-2030 {ha(p['projected_total_m2'])}",
                    "garantie communale de 1,0 ha", "1. Consommation annuelle", "2. Consommation par destination",
                    "3. Décennie de référence", "4. Consommation depuis 2021", "5. Comparaison",
                    "6. Foncier économique encore prévu", "7. Par commune", "Règles de calcul",
                    f"Total {ha(reference)} 100 %"):
        assert printed in text, printed
    assert f"× {len(p['remaining_years'])} année(s) restante(s)" in text  # the projection method is stated
    for year_row in t["series"]:
        assert f"{year_row['year']} {ha(year_row['total_m2'], 2)}" in text
    for c in t["communes"][:5]:
        assert f"{c['name']} ({c['code']})" in text
    current = next(r for r in t["comparison"] if r["current"])
    assert plain(fmt.number(current["reference_per_inhabitant_m2"], 1)) in text

    book = openpyxl.load_workbook(xlsx, read_only=True)
    rows = list(book["Chiffres"].iter_rows(values_only=True))
    figures = {r[1]: r[8] for r in rows[1:] if r[0] == "Chiffres clés"}
    assert figures["reference_m2"] == pytest.approx(reference) and figures["envelope_m2"] == pytest.approx(envelope)
    assert len([r for r in rows if r[0] == "Communes" and r[1] == "envelope_m2"]) == t["territory"]["communes"]


def test_zan_report_from_the_cli_and_unknown_territory(demo_warehouse, tmp_path):
    from vigie.cli import app

    runner = CliRunner()
    done = runner.invoke(app, ["--base", str(demo_warehouse), "zan", "PMA", "--pdf", "--sortie", str(tmp_path)])
    assert done.exit_code == 0, done.output
    count, text = pdf_text(tmp_path / "rapport-zan-PMA.pdf")
    assert "Pôle Métropolitain de l'Artois" in text and f"({count} pages)" in plain(done.output)
    assert (tmp_path / "rapport-zan-PMA.xlsx").exists()
    bad = runner.invoke(app, ["--base", str(demo_warehouse), "zan", "TERRITOIRE-X", "--pdf", "--sortie", str(tmp_path)])
    assert bad.exit_code == 1 and "Aucun territoire" in bad.output
    with pytest.raises(NotFoundError):
        wh = connect(str(demo_warehouse), create=False, read_only=True)
        try:
            report_zan.collect(wh, "TERRITOIRE-X")
        finally:
            wh.close()


def test_layer_exports_cli_gpkg_and_api_xlsx(demo, demo_warehouse, tmp_path):
    from vigie.cli import app
    from vigie.publish.api import create_app

    out = CliRunner().invoke(app, ["--base", str(demo_warehouse), "foncier", "exporter", str(tmp_path), "--format", "gpkg"])
    assert out.exit_code == 0, out.output
    path = tmp_path / "vigie_foncier_atlas.gpkg"
    layers = {name for name, _kind in pyogrio.list_layers(path)}
    assert {"zones", "terrains", "etablissements", "au", "metadonnees"} <= layers
    zones = pyogrio.read_dataframe(path, layer="zones")
    assert len(zones) == demo.query("SELECT count(*) FROM foncier_site")[0][0]
    assert zones.crs.to_epsg() == 2154 and zones["commune"].str.len().eq(5).all() and zones["donnees_fictives"].all()
    est = pyogrio.read_dataframe(path, layer="etablissements")
    assert len(est) == demo.query("SELECT count(*) FROM foncier_establishment WHERE published AND active AND site_id IS NOT NULL")[0][0]
    hidden = {r[0] for r in demo.query("SELECT siret FROM foncier_establishment WHERE NOT published")}
    assert hidden and not hidden & set(est["siret"])  # partial diffusion never exported
    assert est["siret"].str.len().eq(14).all()

    with TestClient(create_app(str(demo_warehouse))) as client:
        got = client.get("/api/atlas/export/zones.xlsx", params={"epci": CALL})
        assert got.status_code == 200 and "vigie_foncier_zones_246200364.xlsx" in got.headers["content-disposition"]
        book = openpyxl.load_workbook(io.BytesIO(got.content))
        assert book.sheetnames == ["zones", "Métadonnées"]
        sheet = book["zones"]
        header = [c.value for c in sheet[1]]
        rows = [dict(zip(header, (c.value for c in r))) for r in sheet.iter_rows(min_row=2)]
        expected = demo.query("SELECT count(*) FROM foncier_site s JOIN membership m ON m.child_level = 'commune' AND "
                              "m.child_code = s.commune AND m.parent_level = 'epci' AND m.parent_code = ? "
                              "AND m.cog = (SELECT max(cog) FROM membership)", (CALL,))[0][0]
        assert len(rows) == expected and all(r["epci"] == CALL and isinstance(r["commune"], str) for r in rows)
        first = rows[0]
        gross = demo.query("SELECT gross_ha FROM foncier_site WHERE site_id = ?", (first["site_id"],))[0][0]
        assert first["surface_brute_ha"] == pytest.approx(gross) and first["remarque"] == "données fictives de démonstration"
        assert 600_000 < first["x_l93"] < 750_000 and 6_950_000 < first["y_l93"] < 7_100_000
        assert client.get("/api/atlas/export/parcelles.gpkg").status_code == 404
        bad = client.get("/api/atlas/export/zones.shp")
        assert bad.status_code == 400 and "gpkg ou xlsx" in bad.text
        page = client.get("/atlas").text
        assert "/api/atlas/export/atlas.gpkg" in page and "/api/atlas/export/zones.xlsx" in page

        # the PDFs from the web: a zone's fiche (linked from its page) and a territory's ZAN report (linked from /zan)
        site = first["site_id"]
        assert f"/api/atlas/zones/{site}/fiche.pdf" in client.get(f"/atlas/zone/{site}").text
        fiche = client.get(f"/api/atlas/zones/{site}/fiche.pdf")
        assert fiche.status_code == 200 and fiche.headers["content-type"] == "application/pdf"
        assert first["nom"] in plain(PdfReader(io.BytesIO(fiche.content)).pages[0].extract_text())
        missing = client.get("/api/atlas/zones/ZAE-INCONNUE/fiche.pdf")
        assert missing.status_code == 404 and "Aucune zone d'activité" in missing.text
        assert f"/api/zan/{CALL}/rapport.pdf" in client.get(f"/zan/{CALL}").text
        report = client.get(f"/api/zan/{CALL}/rapport.pdf")
        assert report.status_code == 200 and f"rapport-zan-{CALL}.pdf" in report.headers["content-disposition"]
        assert "Rapport ZAN — CA de Lens - Liévin" in plain(PdfReader(io.BytesIO(report.content)).pages[0].extract_text())
        assert client.get("/api/zan/00000/rapport.pdf").status_code == 404
