"""SIRENE StockEtablissement + geolocation into the activity zones (streamed), on an extract in the official format."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_foncier_cnig import FIX, seeded
from vigie.errors import ImportValidationError
from vigie.modules.foncier import sirene
from vigie.modules.foncier.atlas import zone_table
from vigie.modules.foncier.cnig import SiteImporter
from vigie.modules.foncier.sirene import SireneZonesImporter, luhn_valid
from vigie.sources.base import run_import

GEOLOC = FIX / "GeolocalisationEtablissement_extrait.csv"


def test_luhn_vectorised():
    ok = luhn_valid(np.array(["32109876500019", "32109876500018", "1234", "35600000000048", "3210987650001é"]))
    assert ok.tolist() == [True, False, False, True, False]


@pytest.mark.parametrize("block", [sirene.BLOCK, 1500])  # one batch, or a few rows per batch (streaming)
def test_establishments_in_zones(wh, monkeypatch, block):
    monkeypatch.setattr(sirene, "BLOCK", block)
    seeded(wh)
    run_import(wh, SiteImporter(FIX / "site-eco.csv"))
    result = run_import(wh, SireneZonesImporter(FIX / "StockEtablissement_extrait.csv", geoloc=str(GEOLOC)))
    est = wh.query_df("SELECT siret, site_id, naf, headcount_code, published, name FROM foncier_establishment ORDER BY siret")
    # kept: two active ones in Lens, one in Liévin; dropped: the one outside zones and the closed one
    assert est["siret"].tolist() == ["32109876500019", "32109876500027", "77788899900011"]
    assert est["site_id"].tolist() == ["62498_SITE-ECO_00001", "62498_SITE-ECO_00001", "62510_SITE-ECO_00001"]
    assert est["naf"].tolist() == ["5210B", "2932Z", "1071A"]
    # partial diffusion: kept for aggregates, never named
    assert est["published"].tolist() == [True, False, True]
    assert est["name"].isna().tolist() == [False, True, False]
    assert "1 établissement(s) actif(s) hors zones" in result.messages[0]
    z = zone_table(wh).set_index("site_id")
    assert z.loc["62498_SITE-ECO_00001", "jobs"] == 14.5 + 149.5
    assert (z.loc["62510_SITE-ECO_00001", "jobs"], z.loc["62510_SITE-ECO_00001", "jobs_unknown"]) == (0.0, 1)


def test_bad_siret_names_its_line(wh, monkeypatch):
    monkeypatch.setattr(sirene, "BLOCK", 1500)
    seeded(wh)
    run_import(wh, SiteImporter(FIX / "site-eco.csv"))
    with pytest.raises(ImportValidationError, match="Luhn") as err:
        run_import(wh, SireneZonesImporter(FIX / "StockEtablissement_siret_faux.csv", geoloc=str(GEOLOC)))
    assert (err.value.line, err.value.column) == (5, "siret")
    assert wh.query("SELECT count(*) FROM foncier_establishment")[0][0] == 0
