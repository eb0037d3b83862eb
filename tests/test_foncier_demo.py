"""The synthetic atlas of the demo: deterministic files in the official formats, imported through the importers."""

from __future__ import annotations

import filecmp
import json

from vigie.modules.foncier.atlas import free_au_zones, totals, zone_table
from vigie.modules.foncier.demo import build_demo_atlas
from vigie.modules.foncier.export_cnig import export_cnig
from vigie.modules.foncier.synthetic import generate
from vigie.warehouse import connect


def test_demo_atlas(demo_copy, tmp_path):
    wh = connect(str(demo_copy))
    try:
        reports = build_demo_atlas(wh, tmp_path / "a", zones=30)
        assert [r.kind for r in reports] == ["cnig-pole-eco", "cnig-site-eco", "cnig-terrain-eco", "sirene-zones", "plu-zones"]
        assert all(s for (s,) in wh.query("SELECT synthetic FROM source WHERE kind IN ('cnig-site-eco', 'sirene-zones', 'plu-zones')"))
        # same seed, same files
        again = generate(wh, tmp_path / "b", zones=30)
        for name in ("sites", "plots", "stock", "geoloc", "plu"):
            first = tmp_path / "a" / getattr(again, name).name
            assert filecmp.cmp(first, getattr(again, name), shallow=False), name
        zones = zone_table(wh)
        assert len(zones) == 30
        assert zones["gross_ha"].between(4.9, 150.1).all()
        # every zone lies in a real commune of the three agglomerations, named in its site_comm_insee
        inside = wh.query(
            "SELECT count(*) FROM foncier_site s JOIN territory_geometry g ON g.level = 'commune' AND g.code = s.commune "
            "AND g.cog = (SELECT max(cog) FROM territory_geometry WHERE level = 'commune') WHERE ST_Within(s.geom, ST_Buffer(g.geom, 1))")[0][0]
        assert inside == 30
        pma = totals(wh, "pole_metropolitain", zones).set_index("code").loc["PMA"]
        assert pma["zones"] == 30 and pma["establishments"] > 100
        assert pma["vacancy_rate"] == 100 * pma["plots_vacant"] / pma["plots"]
        assert len(json.loads(pma["filieres"])) >= 6
        assert len(free_au_zones(wh)) > 0
        result = export_cnig(wh, tmp_path / "export")  # validated by frictionless inside
        assert result.rows["site-eco"] == 30 and result.skipped["diffusion partielle"] > 0
    finally:
        wh.close()
