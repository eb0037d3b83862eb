"""The barometer's CLI, JSON API and page on the demo warehouse with its barometer series."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from vigie.publish.api import create_app


@pytest.fixture(scope="module")
def barometre_demo(demo_warehouse):
    """The demo warehouse: `vigie demo` imports the barometer's demo series."""
    return demo_warehouse


@pytest.fixture(scope="module")
def client(barometre_demo):
    with TestClient(create_app(str(barometre_demo))) as c:
        yield c


def test_cli_release_and_series_on_the_demo(barometre_demo, monkeypatch):
    from typer.testing import CliRunner

    from vigie.cli import app

    monkeypatch.setenv("VIGIE_DATABASE", str(barometre_demo))
    runner = CliRunner()
    out = runner.invoke(app, ["barometre", "2025-T4", "--sans-pdf"])
    assert out.exit_code == 0, out.output
    output = out.output.replace("\u00a0", " ")
    assert "Baromètre économique – Pôle Métropolitain de l'Artois – 4e trimestre 2025" in output
    assert "Série absente pour 2025-T4 : Ventes de logements (dernier trimestre disponible : 2025-T2)." in output
    assert "Série absente pour 2025-T4 : Logements commencés (dernier trimestre disponible : 2024-T4)." in output
    assert "Lens : 10,8 %" in output and "France : 7,8 %" in output  # real INSEE rates
    assert "Révisé : Pôle Métropolitain de l'Artois, 2025-T3" in output
    assert "données fictives de démonstration" in output
    series = runner.invoke(app, ["barometre", "series"])
    assert series.exit_code == 0 and "chomage_taux – Taux de chômage localisé (INSEE) : 2021-T1 → 2025-T4" in series.output
    bad = runner.invoke(app, ["barometre", "2025-T7"])
    assert bad.exit_code == 1 and "invalide" in bad.output


def test_quarters_series_and_release(client):
    q = client.get("/api/barometre/trimestres").json()
    assert q["dernier"] == "2025-T4" and q["trimestres"][0]["libelle"] == "4e trimestre 2025"
    series = {s["id"]: s for s in client.get("/api/barometre/series").json()["series"]}
    assert series["dvf_ventes"]["last_period"] == "2025-T2" and series["emploi_prive"]["releases"] == 2
    r = client.get("/api/barometre/2025-T4").json()
    assert r["territory"]["code"] == "PMA" and r["synthetic"] is True
    chomage = next(s for s in r["series"] if s["id"] == "chomage_taux")
    lens = next(f for f in [chomage["main"], *chomage["comparisons"]] if f["code"] == "3215")
    assert lens["value"] == 10.8 and lens["change_year"] == pytest.approx(0.6)
    assert "Série absente pour 2025-T4 : Ventes de logements (dernier trimestre disponible : 2025-T2)." in r["missing"]
    emploi = next(s for s in r["series"] if s["id"] == "emploi_prive")
    assert any(x["period"] == "2025-T3" and x["territory"] == "Pôle Métropolitain de l'Artois" for x in emploi["revisions"])


def test_series_over_time_pma_is_the_sum_of_its_epci(client):
    body = client.get("/api/barometre/series/defm_a", params={"territoires": "PMA,246200364,246200299,200072460"}).json()
    by = {t["code"]: {v["trimestre"]: v["valeur"] for v in t["valeurs"]} for t in body["territoires"]}
    assert by["PMA"]["2025-T4"] == pytest.approx(sum(by[e]["2025-T4"] for e in ("246200364", "246200299", "200072460")))


def test_errors_are_french(client):
    bad = client.get("/api/barometre/2025-T9")
    assert bad.status_code == 422 and "invalide" in bad.text
    assert client.get("/api/barometre/series/inconnue").status_code == 404
    missing = client.get("/api/barometre/2025-T4", params={"territoire": "ZZZ"})
    assert missing.status_code == 404 and "Aucun territoire" in missing.text


def test_page(client):
    page = client.get("/barometre")
    assert page.status_code == 200 and "Baromètre économique trimestriel" in page.text and "2025-T4" in page.text
