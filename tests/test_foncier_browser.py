"""The atlas page `/atlas`, a zone page and the ZAN page `/zan` in headless Chromium over the demo warehouse.

What a person does: the atlas loads with its map drawn (pixels of the zones), choosing an EPCI shows only its zones
(as many as the API gives), a click on a zone opens its popup whose link leads to the zone page (with its own map);
the ZAN page shows the trajectory chart and its key figures; axe-core finds no serious violation on either page.
Screenshots: tests/artifacts/atlas.png and tests/artifacts/zan.png.
"""

from __future__ import annotations


import httpx

from tests.browser_support import ARTIFACTS, colour_census, png_pixels, assert_accessible

CAHC = "246200299"
BACKGROUND = (0xEE, 0xF1, 0xF4)  # the plain map style's background


def zone_blue_pixels(png: bytes) -> int:
    """Pixels of the zones' fill (#1d4e89 at 35 % over the background) or outline, every second pixel."""
    width, height, channels, pixels = png_pixels(png)
    count = 0
    for y in range(0, height, 2):
        row = y * width * channels
        for x in range(0, width, 2):
            i = row + x * channels
            r, g, b = pixels[i], pixels[i + 1], pixels[i + 2]
            if b > r + 25 and b > g + 10 and r < 200:
                count += 1
    return count


def open_atlas(page, server) -> None:
    page.goto(f"{server.url}/atlas")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    page.wait_for_selector("[data-map][data-ready=true]", state="attached")


def test_atlas_map_draws_and_an_epci_filter_changes_the_zones(page, server):
    open_atlas(page, server)
    assert page.title() == "Atlas du foncier économique — Vigie"
    total = len(httpx.get(f"{server.url}/api/atlas/zones").json()["features"])
    assert page.locator("[data-map]").get_attribute("data-zones") == str(total)
    assert f"{total} zone(s) d'activité affichée(s) — données fictives de démonstration" in page.locator("[data-status]").inner_text()
    png = page.locator("[data-map]").screenshot()
    drawn, colours = colour_census(png, BACKGROUND)
    assert drawn > 0.01 and colours > 10, "la carte de l'atlas est vide"
    assert zone_blue_pixels(png) > 300, "aucune zone d'activité n'est dessinée"
    rendered = page.evaluate("() => new Set(window.vigieAtlasMap.queryRenderedFeatures({layers: ['zones']})"
                             ".map(f => f.properties.site_id)).size")
    assert rendered > 10

    expected = httpx.get(f"{server.url}/api/atlas/zones", params={"epci": CAHC}).json()["features"]
    assert 0 < len(expected) < total
    page.select_option("select[name=epci]", CAHC)
    page.wait_for_function(f"() => document.querySelector('[data-map]').dataset.zones === '{len(expected)}'")
    page.wait_for_selector("[data-map][data-ready=true]", state="attached")
    shown = page.evaluate("async () => (await window.vigieAtlasMap.getSource('zones').getData()).features"
                          ".map(f => f.properties.site_id).sort()")
    assert shown == sorted(f["properties"]["site_id"] for f in expected)
    assert f"{len(expected)} zone(s) d'activité affichée(s)" in page.locator("[data-status]").inner_text()

    # Plots and establishments layers, switched on, are drawn too (establishments of the shown zones only).
    page.check("input[name=layer][value=etablissements]")
    page.wait_for_selector("[data-map][data-ready=true]", state="attached")
    page.wait_for_function("() => document.querySelector('[data-map]').dataset.establishments > 0")
    sites = page.evaluate("async () => [...new Set((await window.vigieAtlasMap.getSource('etablissements').getData())"
                          ".features.map(f => f.properties.site_id))]")
    assert set(sites) <= set(shown)

    page.uncheck("input[name=layer][value=etablissements]")
    page.wait_for_selector("[data-map][data-ready=true]", state="attached")
    page.select_option("select[name=epci]", "")
    page.wait_for_function(f"() => document.querySelector('[data-map]').dataset.zones === '{total}'")
    page.wait_for_selector("[data-map][data-ready=true]", state="attached")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "atlas.png"), full_page=False)
    assert_accessible(page)


def test_a_zone_popup_link_opens_the_zone_page(page, server):
    open_atlas(page, server)
    point = page.evaluate("""() => {
        const map = window.vigieAtlasMap;
        const canvas = map.getCanvas();
        const w = canvas.clientWidth, h = canvas.clientHeight;
        for (let step = 24; step >= 6; step /= 2) {
          for (let y = step; y < h - step; y += step) {
            for (let x = step; x < w - 60; x += step) {
              const found = map.queryRenderedFeatures([x, y], {layers: ['zones']});
              if (found.length) return {x, y, id: found[0].properties.site_id, name: found[0].properties.name};
            }
          }
        }
        return null;
    }""")
    assert point, "aucune zone cliquable sur la carte"
    page.locator("[data-map] canvas").click(position={"x": point["x"], "y": point["y"]})
    popup = page.locator(".maplibregl-popup")
    popup.wait_for()
    assert point["name"] in popup.inner_text() and "Fiche de la zone" in popup.inner_text()
    popup.get_by_role("link", name="Fiche de la zone →").click()
    page.wait_for_url(f"**/atlas/zone/{point['id']}")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    page.wait_for_selector("[data-map][data-ready=true]", state="attached")
    assert page.locator("h1").inner_text() == point["name"]
    assert "Surface brute" in page.locator("#zone-chiffres").locator("..").inner_text()
    png = page.locator("[data-map]").screenshot()
    assert zone_blue_pixels(png) > 300, "la carte de la zone est vide"


def test_zan_page_shows_the_trajectory(page, server):
    page.goto(f"{server.url}/zan/{CAHC}")
    trajectory = httpx.get(f"{server.url}/api/zan/{CAHC}").json()
    assert page.locator("h1").inner_text() == f"Trajectoire ZAN — {trajectory['territory']['name']}"
    chart = page.locator("figure svg[role=img]")
    bars = chart.locator("rect")
    observed = len(trajectory["series"])
    projected = len(trajectory["projection"]["path"])
    assert bars.count() == observed + projected
    assert chart.locator("line[stroke-dasharray]").count() == 1  # the allowed pace of the envelope
    png = chart.screenshot()
    drawn, _colours = colour_census(png, (255, 255, 255))
    assert drawn > 0.05, "le graphique de la trajectoire est vide"
    cards = page.locator("#zan-chiffres").locator("..").inner_text()
    assert "Enveloppe 2021-2030" in cards and "Enveloppe restante" in cards
    assert "données fictives de démonstration" in page.locator(".notice-demo").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.screenshot(path=str(ARTIFACTS / "zan.png"), full_page=True,
                    clip={"x": 0, "y": 0, "width": 1280, "height": min(height, 2400)})
    assert_accessible(page)
