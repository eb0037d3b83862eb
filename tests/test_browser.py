"""The observatory in a real headless Chromium (Debian's, driven by Playwright), against the app served on a free
loopback port over the demo warehouse (built once for the module).

What a person does: the home page loads and its search finds « Liévin » from "lievin"; the map draws (pixels of a
screenshot) and a click on a commune opens its portrait; the portrait, comparator, data and catalogue pages show
their figures; a download opens in LibreOffice; axe-core finds no serious or critical accessibility violation on
any page. Screenshots of every page are kept in tests/artifacts/ (with the measured timings).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from shapely.geometry import shape

from tests.browser_support import ARTIFACTS, LiveServer, colour_census, require_browser_tools, assert_accessible

LIEVIN = "62510"
LENS = "62498"
CALL = "246200364"
MAP_BACKGROUND = (0xEE, 0xF1, 0xF4)  # the plain style's background colour
TIMINGS: dict[str, float] = {}


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def server(demo_warehouse):
    require_browser_tools()
    with LiveServer(demo_warehouse) as live:
        yield live
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "timings.json").write_text(json.dumps(TIMINGS, indent=2, ensure_ascii=False), encoding="utf-8")


def open_page(page, server, path: str, ready: str):
    started = time.perf_counter()
    page.goto(server.url + path)
    page.wait_for_selector(ready, state="attached")
    return time.perf_counter() - started


def shoot(page, name: str, max_height: int = 3200) -> Path:
    """A screenshot of the page from its top (at most `max_height` pixels: long portraits cost seconds to encode)."""
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / f"{name}.png"
    height = page.evaluate("() => document.documentElement.scrollHeight")
    width = page.viewport_size["width"]
    page.screenshot(path=str(target), full_page=True, clip={"x": 0, "y": 0, "width": width, "height": min(height, max_height)})
    return target


def check(page, name: str) -> None:
    """Keep the page as a screenshot, then check its accessibility."""
    shoot(page, name)
    assert_accessible(page)


# ---------------------------------------------------------------------------------------------- tests
def test_home_loads_and_search_finds_lievin(page, server):
    TIMINGS["accueil_chiffres_cles_s"] = round(open_page(page, server, "/", "[data-cards] .card"), 3)
    assert page.title().startswith("Vigie")
    paint = page.evaluate("() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null")
    TIMINGS["accueil_first_contentful_paint_ms"] = round(paint or -1)
    cards = page.locator("[data-cards] .card")
    assert cards.count() >= 4
    assert "habitants" in cards.first.inner_text()

    box = page.get_by_role("combobox")
    box.press_sequentially("lievin", delay=20)
    option = page.get_by_role("option", name="Liévin Commune · 62510")
    option.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    check(page, "accueil")  # with the list of results open
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == option.get_attribute("id")
    box.press("Enter")
    page.wait_for_url(f"**/territoire/commune/{LIEVIN}")
    assert page.locator("h1").inner_text() == "Liévin"


def test_map_draws_and_a_click_on_a_commune_opens_its_portrait(page, server):
    TIMINGS["carte_premiere_peinture_s"] = round(
        open_page(page, server, "/carte?indicator=taux_chomage&level=commune", "[data-map][data-ready=true]"), 3)
    map_box = page.locator("[data-map]")
    drawn, colours = colour_census(map_box.screenshot(), MAP_BACKGROUND)
    assert drawn > 0.25, f"la carte est presque vide ({drawn:.0%} de pixels dessinés)"
    assert colours >= 5, f"{colours} couleurs seulement : pas de classes visibles"
    legend = page.locator("[data-legend]").inner_text()
    assert "Taux de chômage" in legend and "Source" in legend
    assert page.locator("[data-legend] .legend-classes li").count() >= 5
    assert page.locator("#histogramme svg rect").count() > 3
    # The indicator's name, cut in its narrow select, is whole in the select's tooltip.
    assert page.locator("select[name=indicator]").get_attribute("title") == "Taux de chômage des 15-64 ans (recensement)"
    check(page, "carte")

    # Liévin's contour as the map received it: hover then click a point inside it.
    contours = httpx.get(server.url + "/api/geo/commune", timeout=30).json()
    lievin = next(f for f in contours["features"] if f["properties"]["code"] == LIEVIN)
    inside = shape(lievin["geometry"]).representative_point()
    x, y = page.evaluate("([lon, lat]) => { const p = window.vigieMap.project([lon, lat]); return [p.x, p.y]; }",
                         [inside.x, inside.y])
    bounds = map_box.bounding_box()
    page.mouse.move(bounds["x"] + x, bounds["y"] + y)
    tip = page.locator(".map-tip")
    tip.wait_for()
    assert "Liévin" in tip.inner_text() and "Taux de chômage" in tip.inner_text()
    page.mouse.click(bounds["x"] + x, bounds["y"] + y)
    page.wait_for_url(f"**/territoire/commune/{LIEVIN}")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    assert page.locator("h1").inner_text() == "Liévin"


def test_long_names_fit_left_of_their_bars(page, server):
    # The default map (density): « Montigny-en-Gohelle », in bold, once overflowed the chart and lost its first letter.
    open_page(page, server, "/carte", "[data-map][data-ready=true]")
    labels = page.evaluate("""() => [...document.querySelectorAll('#plus-fortes-valeurs svg text.label')]
        .map((t) => ({x: t.getBBox().x, text: t.textContent, whole: t.querySelector('title')?.textContent}))""")
    assert labels and all(label["x"] >= 0 for label in labels), labels
    cut = [label for label in labels if label["text"].endswith("…")]
    assert all(label["whole"].startswith(label["text"][:-1]) for label in cut), cut


IDLE = "() => new Promise((resolve) => { window.vigieMap.once('idle', resolve); window.vigieMap.triggerRepaint(); })"


def overview_answers(page) -> list:
    """The overview images (`/api/map/image/…`) the page receives from now on."""
    received = []
    page.on("response", lambda r: received.append(r) if "/api/map/image/" in r.url else None)
    return received


def hover_tip(page, lon: float, lat: float) -> str:
    x, y = page.evaluate("([lon, lat]) => { const p = window.vigieMap.project([lon, lat]); return [p.x, p.y]; }", [lon, lat])
    bounds = page.locator("[data-map]").bounding_box()
    page.mouse.move(bounds["x"] + x, bounds["y"] + y)
    tip = page.locator(".map-tip")
    tip.wait_for()
    return tip.inner_text()


def test_below_zoom_7_the_server_draws_the_map_and_tooltips_still_work(page, server):
    open_page(page, server, "/carte?indicator=taux_chomage&level=commune", "[data-map][data-interactive=true]")
    images = overview_answers(page)
    page.evaluate("() => window.vigieMap.jumpTo({zoom: 6})")
    page.evaluate(IDLE)
    assert images and all(r.status == 200 and r.headers["content-type"] == "image/png" for r in images)
    assert all("indicator=taux_chomage" in r.url and "/api/map/image/commune/5/" in r.url for r in images)  # 1,024 px: zoom 6
    # The fill of the vector tiles is not drawn below zoom 7 (the image is), but it still answers the mouse.
    opacity = page.evaluate("() => window.vigieMap.getPaintProperty('territoires-fond', 'fill-opacity')")
    assert opacity == ["step", ["zoom"], 0, 7, 0.92]
    drawn, colours = colour_census(page.locator("[data-map]").screenshot(), MAP_BACKGROUND)
    assert drawn > 0.01 and colours >= 5, (drawn, colours)
    contours = httpx.get(server.url + "/api/geo/commune", timeout=30).json()
    lievin = next(f for f in contours["features"] if f["properties"]["code"] == LIEVIN)
    inside = shape(lievin["geometry"]).representative_point()
    page.evaluate("([lon, lat]) => window.vigieMap.jumpTo({center: [lon, lat]})", [inside.x, inside.y])
    page.evaluate(IDLE)
    assert "Liévin" in hover_tip(page, inside.x, inside.y)


def test_a_first_view_below_zoom_7_shows_the_images_first_then_the_vector_tiles(browser, server):
    # On a phone the Pas-de-Calais fits below zoom 7: the first paint is the server's images.
    context = browser.new_context(viewport={"width": 320, "height": 640}, locale="fr-FR")
    context.set_default_timeout(60_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    images = overview_answers(page)
    tiles = []
    page.on("request", lambda r: tiles.append(r.url) if r.url.endswith(".mvt") else None)
    page.goto(server.url + "/carte?indicator=population&level=commune")
    page.wait_for_selector("[data-map][data-ready=true]", state="attached")
    assert page.evaluate("() => window.vigieMap.getZoom()") < 7
    assert images and all(r.status == 200 for r in images)
    assert all("indicator=population" in r.url and "r=" in r.url for r in images)  # circles, at the page's scale
    drawn, _colours = colour_census(page.locator("[data-map]").screenshot(), MAP_BACKGROUND)
    assert drawn > 0.1, f"la carte est presque vide ({drawn:.0%} de pixels dessinés)"
    page.wait_for_selector("[data-map][data-interactive=true]", state="attached")
    assert tiles, "les tuiles vectorielles (infobulles, clic) n'ont pas été chargées après les images"
    assert page.locator("[role=listbox] [role=option]").count() > 0
    context.close()
    assert not errors, errors


def test_map_state_is_in_the_url_and_stocks_are_drawn_as_circles(page, server):
    open_page(page, server, "/carte?indicator=population&level=epci", "[data-map][data-ready=true]")
    circles = page.evaluate("() => window.vigieMap.queryRenderedFeatures({layers: ['cercles']}).length")
    assert circles >= 15  # the 20 EPCI of the Pas-de-Calais, some hidden under larger ones
    assert page.locator("[data-legend] svg circle").count() >= 2
    assert page.locator("select[name=method]").is_disabled()
    page.select_option("select[name=indicator]", "part_0014")
    page.wait_for_function("() => new URL(location.href).searchParams.get('indicator') === 'part_0014'")
    page.select_option("select[name=k]", "4")
    page.wait_for_function("() => new URL(location.href).searchParams.get('k') === '4'")
    page.wait_for_function("() => document.querySelectorAll('[data-legend] .legend-classes li .swatch').length >= 4")
    assert "level=epci" in page.url
    assert page.locator("[data-legend] .demo-mark").inner_text() == "données fictives de démonstration"
    check(page, "carte-epci")


def test_keyboard_reaches_the_territories_of_the_map_and_opens_a_portrait(page, server):
    open_page(page, server, "/carte?indicator=taux_chomage&level=epci", "[data-map][data-ready=true]")
    box = page.get_by_role("listbox", name="Territoires visibles sur la carte")
    assert box.locator("[role=option]").count() >= 15  # the EPCI of the Pas-de-Calais
    # Reached with Tab from the last control (through the map and its zoom buttons).
    page.locator("select[name=k]").focus()
    for _ in range(8):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement?.getAttribute('role')") == "listbox":
            break
    assert page.evaluate("() => document.activeElement?.getAttribute('role')") == "listbox"
    page.keyboard.press("Home")
    first = page.locator("#" + box.get_attribute("aria-activedescendant"))
    assert first.get_attribute("aria-selected") == "true"
    tip = page.locator(".map-tip")
    tip.wait_for()
    assert first.locator(".map-list-name").inner_text() in tip.inner_text() and "Taux de chômage" in tip.inner_text()
    page.keyboard.press("ArrowDown")
    second = page.locator("#" + box.get_attribute("aria-activedescendant"))
    assert second.get_attribute("aria-selected") == "true" and first.get_attribute("aria-selected") == "false"
    name = second.locator(".map-list-name").inner_text()
    page.wait_for_function(f"() => document.querySelector('.map-tip')?.innerText.includes({json.dumps(name)})")
    page.wait_for_function("() => window.vigieMap.queryRenderedFeatures({layers: ['territoires-survol']}).length > 0")
    assert_accessible(page)
    code = second.get_attribute("data-code")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/territoire/epci/{code}")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    assert page.locator("h1").inner_text() == name


def test_portrait_has_key_figures_charts_with_tables_and_a_reference_in_the_url(page, server):
    TIMINGS["portrait_s"] = round(open_page(page, server, f"/territoire/commune/{LIEVIN}", "body[data-ready=true]"), 3)
    assert page.locator("h1").inner_text() == "Liévin"
    assert page.locator(".card").count() >= 8
    population = page.locator(".card[data-indicator=population] .card-value").inner_text()
    assert population.replace("\u202f", " ").startswith("30 113")  # RP 2021, real data
    charts = page.locator("figure.chart")
    assert charts.count() >= 3
    for i in range(charts.count()):
        assert charts.nth(i).locator("table tbody tr").count() >= 2
    assert page.locator(".notice-demo").count() == 1
    page.locator(".mini-map canvas").wait_for()

    select = page.get_by_label("Comparer avec")
    assert "CA de Lens - Liévin" in select.locator("option:checked").inner_text()
    select.select_option("departement:62")
    page.wait_for_function("() => document.querySelector('.theme table thead')?.innerText.includes('Pas-de-Calais')")
    assert "reference=departement:62" in unquote(page.url)
    check(page, "portrait")

    page.reload()
    page.wait_for_selector("body[data-ready=true]", state="attached")
    assert "Pas-de-Calais" in page.locator(".theme table thead").first.inner_text()


def test_comparator_puts_territories_side_by_side(page, server):
    open_page(page, server, f"/comparer?codes=commune:{LIEVIN},commune:{LENS}", "body[data-ready=true]")
    head = page.locator(".compare-table thead").inner_text()
    assert "Liévin" in head and "Lens" in head
    box = page.get_by_role("combobox", name="Ajouter un territoire (4 au plus)")
    box.press_sequentially("lens - li", delay=20)
    page.get_by_role("option", name=f"CA de Lens - Liévin EPCI · {CALL}").click()
    page.wait_for_function("() => document.querySelectorAll('.compare-table thead th').length === 4")
    assert f"epci:{CALL}" in unquote(page.url)
    assert page.locator("#comparaison table tbody tr").count() == 3
    check(page, "comparer")


def test_downloads_open_in_libreoffice(page, server, tmp_path):
    soffice = shutil.which("libreoffice") or shutil.which("soffice")
    assert soffice, "LibreOffice est introuvable : lancez « make test-deps »."
    open_page(page, server, "/donnees?indicator=population&level=epci", "body[data-ready=true]")
    rows = page.locator(".sortable tbody tr")
    assert rows.count() == 20
    page.get_by_role("button", name="Valeur").click()
    page.get_by_role("button", name="Valeur").click()  # descending
    assert "CA de Béthune-Bruay" in rows.first.inner_text()
    assert page.locator("th[aria-sort=descending]").count() == 1
    assert "tri=value" in page.url and "sens=desc" in page.url
    check(page, "donnees")

    files = []
    for fmt in ("csv", "xlsx"):
        with page.expect_download() as info:
            page.locator(f"a[data-format={fmt}]").click()
        target = tmp_path / info.value.suggested_filename
        info.value.save_as(target)
        assert target.suffix == f".{fmt}" and target.stat().st_size > 200
        files.append(target)
    text = files[0].read_bytes()
    assert text.startswith(b"\xef\xbb\xbf"), "le CSV doit commencer par la marque d'ordre UTF-8"
    assert ";" in text.decode("utf-8").splitlines()[0] and "CA de Lens - Liévin" in text.decode("utf-8")

    started = time.perf_counter()
    out = tmp_path / "pdf"
    result = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'profil'}", "--headless", "--convert-to", "pdf",
         "--outdir", str(out), *map(str, files)],
        capture_output=True, text=True, timeout=120,
    )
    TIMINGS["libreoffice_conversion_s"] = round(time.perf_counter() - started, 2)
    for f in files:
        pdf = out / f"{f.stem}.pdf"
        assert pdf.is_file(), f"LibreOffice n'a pas ouvert {f.name} : {result.stdout} {result.stderr}"
        assert pdf.read_bytes()[:5] == b"%PDF-"


# Pages no other test visits: checked and kept as screenshots here.
PAGES = [
    ("portrait-qpv", "/territoire/qpv/QN06203M", "body[data-ready=true]"),
    ("comparer-vide", "/comparer", "[data-picker] input"),
    ("catalogue", "/catalogue", "body[data-ready=true]"),
]


@pytest.mark.parametrize("name, path, ready", PAGES, ids=[p[0] for p in PAGES])
def test_other_pages_pass_axe_and_are_kept_as_screenshots(page, server, name, path, ready):
    open_page(page, server, path, ready)
    check(page, name)


def test_embedded_views_show_the_chart_or_map_alone(page, server):
    open_page(page, server, f"/territoire/commune/{LIEVIN}?embed=1&graphique=evolution-population", "body[data-ready=true]")
    assert page.locator("header.site-header").count() == 0
    assert page.locator("figure.chart").count() == 1
    assert "Population municipale" in page.locator("figure.chart figcaption").inner_text()
    check(page, "graphique-integre")
    open_page(page, server, "/carte?indicator=part_hlm&level=epci&embed=1", "[data-map][data-ready=true]")
    assert page.locator("header.site-header").count() == 0 and page.locator("[data-controls]").is_hidden()
    assert page.locator("[data-legend] .legend-classes li").count() >= 3
    check(page, "carte-integree")


def test_unknown_territory_is_a_french_404_page(page, server):
    response = page.goto(server.url + "/territoire/commune/99999")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Territoire introuvable"
    assert "99999" in page.locator("main").inner_text()
    api = httpx.get(server.url + "/", headers={"Accept": "application/json"}, timeout=10)
    assert api.headers["content-type"].startswith("application/json")  # `/` stays the API's landing for clients
