"""The synthetic demo flows (real Cerema layout, deterministic, marked synthetic) and `vigie zan` on them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from vigie.modules.foncier.zan import trajectory
from vigie.modules.foncier.zan_demo import DEMO_YEARS, write_demo_file
from vigie.warehouse import connect


@pytest.fixture(scope="module")
def zan_demo_path(demo_warehouse):
    """The demo warehouse: its build imports the synthetic flows (`build_zan_demo`) before the cube."""
    return demo_warehouse


@pytest.fixture
def zan_demo(zan_demo_path):
    wh = connect(str(zan_demo_path), create=False, read_only=True)
    yield wh
    wh.close()


def test_demo_flows_imported_and_deterministic(zan_demo, tmp_path):
    wh = zan_demo
    rows = wh.query("SELECT count(*) FROM value WHERE source_id = (SELECT id FROM source WHERE kind = 'consommation-naf')")[0][0]
    assert rows == 890 * len(DEMO_YEARS) * 7  # every commune of the COG 2023, 2009…2022, 7 variables
    assert wh.query("SELECT synthetic FROM source WHERE kind = 'consommation-naf'")[0][0] is True
    a = write_demo_file(wh, tmp_path / "a.csv").read_bytes()
    b = write_demo_file(wh, tmp_path / "b.csv").read_bytes()
    assert a == b and a.startswith(b"idcom;idcomtxt;idreg;idregtxt;iddep;iddeptxt;epci23;epci23txt;scot;")


def test_demo_trajectory_rules_hold_for_the_pma(zan_demo):
    wh = zan_demo
    pma = trajectory(wh, "PMA", years=3)
    assert pma.synthetic and pma.territory["communes"] == 150 and pma.cog == 2026
    assert pma.envelope["m2"] == pytest.approx(sum(c["envelope_m2"] for c in pma.communes))
    assert all(c["envelope_m2"] >= 10_000 for c in pma.communes)
    epcis = [trajectory(wh, code, "epci", compare=False) for code in ("246200364", "246200299", "200072460")]
    # the PMA is the union of the three agglomerations: same envelope, reference and consumption as their sum
    assert pma.envelope["m2"] == pytest.approx(sum(e.envelope["m2"] for e in epcis))
    assert pma.consumed["m2"] == pytest.approx(sum(e.consumed["m2"] for e in epcis))
    assert pma.projection.remaining_years == list(range(2023, 2031))
    assert 50 * 10_000 < pma.reference["annual_mean_m2"] < 300 * 10_000  # plausible: 50 to 300 ha a year


def test_cli_prints_the_trajectory(zan_demo_path, monkeypatch):
    from vigie.cli import app

    monkeypatch.setenv("VIGIE_DATABASE", str(zan_demo_path))
    monkeypatch.setenv("COLUMNS", "160")
    result = CliRunner().invoke(app, ["zan", "246200364", "--methode", "tendance", "--annees", "4"])
    assert result.exit_code == 0, result.output
    assert "Trajectoire ZAN — CA de Lens - Liévin" in result.output
    assert "données fictives de démonstration" in result.output
    assert "Enveloppe 2021-2030" in result.output and "droite des moindres carrés sur 2019-2022" in result.output
    as_json = CliRunner().invoke(app, ["zan", "PMA", "--json"])
    assert as_json.exit_code == 0 and json.loads(as_json.output)["territory"]["communes"] == 150
    bad = CliRunner().invoke(app, ["zan", "246200364", "--methode", "hasard"])
    assert bad.exit_code == 1 and "moyenne" in bad.output


def test_web_api_and_page(zan_demo_path):
    from fastapi.testclient import TestClient

    from vigie.publish.api import create_app

    client = TestClient(create_app(str(zan_demo_path)))
    answer = client.get("/api/zan/246200364", params={"methode": "tendance", "annees": 4})
    assert answer.status_code == 200
    body = answer.json()
    assert body["territory"]["name"] == "CA de Lens - Liévin" and body["projection"]["method"] == "tendance"
    assert body["envelope"]["m2"] == pytest.approx(sum(c["envelope_m2"] for c in body["communes"]))
    page = client.get("/zan/PMA")
    assert page.status_code == 200
    assert "Trajectoire ZAN — Pôle Métropolitain de l&#39;Artois" in page.text and "<svg" in page.text
    assert "données fictives de démonstration" in page.text
    assert client.get("/api/zan/246200364", params={"methode": "hasard"}).status_code == 422
    assert client.get("/api/zan/00000").status_code == 404
