"""The survey page `/enquete` in headless Chromium over the demo warehouse (its synthetic survey).

What a person does: the page loads with the flow map drawn (its pixels), hovering a flow shows its figure and its
interval, clicking it shows its destination's catchment, changing the motive rewrites the URL and the table under the map, choosing a pole redraws the catchment
map and its table; the estimates, weighting report and interview quotations are there; axe-core finds no serious
violation. The page is kept as a screenshot in tests/artifacts/enquete.png.
"""

from __future__ import annotations



from tests.browser_support import ARTIFACTS, png_pixels, assert_accessible

LENS = "62498"


def open_survey(page, server, query: str) -> None:
    # The demo's survey is private to the agency (issue 9): log in as its administrator, then go to the page.
    page.goto(f"{server.url}/connexion?suite=/enquete{query.replace('&', '%26')}")
    page.fill("#identifiant", "admin.aula")
    page.fill("#mot_de_passe", "demo-admin-aula")
    page.locator("form button[type=submit], form input[type=submit]").last.click()
    page.wait_for_url(f"**/enquete{query}")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    page.wait_for_selector("[data-flow-map][data-ready=true]", state="attached")
    page.wait_for_selector("[data-catchment-map][data-ready=true]", state="attached")


def coloured_pixels(png: bytes, test) -> int:
    """Pixels of a screenshot whose (r, g, b) pass `test`, every second pixel in each direction."""
    width, height, channels, pixels = png_pixels(png)
    count = 0
    for y in range(0, height, 2):
        row = y * width * channels
        for x in range(0, width, 2):
            i = row + x * channels
            if test(pixels[i], pixels[i + 1], pixels[i + 2]):
                count += 1
    return count


def orange(r, g, b):  # flows leaving the study territory (#b8612a, partly transparent)
    return r > g + 40 and g > b + 20


def blue(r, g, b):  # flows staying in the territory (#1d4e89), the darker catchment classes
    return b > r + 50 and b > g + 10


def test_flow_map_draws_and_a_new_motive_rewrites_the_url_and_the_table(page, server):
    open_survey(page, server, f"?motif=culture&polarite={LENS}")
    assert page.title() == "Enquête usages et pratiques — Vigie"
    assert "données fictives de démonstration" in page.locator(".notice-demo").inner_text()
    flow_map = page.locator("[data-flow-map]")
    png = flow_map.screenshot()
    assert coloured_pixels(png, orange) > 400, "aucun flux vers Lille ou Arras n'est dessiné"
    assert coloured_pixels(png, blue) > 100, "aucun flux interne au territoire n'est dessiné"
    legend = page.locator("[data-flow-legend]").inner_text()
    assert "Culture : flux du domicile vers les destinations" in legend and "évasion" in legend

    table = page.locator("[data-flow-table] table")
    assert table.locator("caption").inner_text().startswith("Culture — flux de la carte")
    first = table.locator("tbody tr").first.inner_text()
    assert first.startswith("Lens\tLille")  # the largest flow of the demo: Lens → Lille
    drawn = page.evaluate("() => window.vigieFlowMap.queryRenderedFeatures({layers: ['flux-lignes']}).length")
    assert drawn > 20

    # The largest flow, hovered in its middle: its figure and its interval in French.
    x, y = page.evaluate("""() => {
        const map = window.vigieFlowMap;
        const lines = map.querySourceFeatures('flux');
        const big = lines.reduce((a, b) => (b.properties.w > a.properties.w ? b : a));
        const c = big.geometry.coordinates;
        const p = map.project(c[Math.floor(c.length / 2)]);
        return [p.x, p.y];
    }""")
    box = flow_map.bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    tip = page.locator(".map-tip")
    tip.wait_for()
    text = tip.inner_text()
    assert "Lens → Lille" in text and "IC à 95 %" in text and "déplacements pondérés" in text
    # A click on it shows the catchment of its destination.
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_function("() => new URL(location.href).searchParams.get('polarite') === '59350'")
    page.wait_for_function("() => document.querySelector('[data-catchment-table] caption').textContent.includes('vers Lille')")
    page.mouse.move(box["x"] + 5, box["y"] + box["height"] - 5)

    page.select_option("select[name=motif]", "achats_quotidiens")
    page.wait_for_function("() => new URL(location.href).searchParams.get('motif') === 'achats_quotidiens'")
    page.wait_for_function("() => document.querySelector('[data-flow-table] caption').textContent.startsWith('Achats quotidiens')")
    rows = page.locator("[data-flow-table] tbody tr")
    assert rows.count() > 10
    assert "(sur place)" in rows.first.inner_text()  # daily shopping: most trips stay in the home commune
    assert page.locator("[data-poles] > [role=region] caption").inner_text().startswith("Achats quotidiens — attraction")


def test_a_pole_redraws_its_catchment_map_and_table(page, server):
    open_survey(page, server, "?motif=culture")
    page.select_option("select[name=polarite]", LENS)
    page.wait_for_function(f"() => new URL(location.href).searchParams.get('polarite') === '{LENS}'")
    page.wait_for_function("() => document.querySelector('[data-catchment-table] caption').textContent.includes('vers Lens')")
    page.wait_for_selector("[data-catchment-map][data-ready=true]", state="attached")
    assert "zone de chalandise de Lens" in page.locator("[data-catchment-legend]").inner_text()
    png = page.locator("[data-catchment-map]").screenshot()
    assert coloured_pixels(png, blue) > 300, "la carte de la zone de chalandise est vide"
    rows = page.locator("[data-catchment-table] tbody tr")
    assert rows.count() > 50
    top = rows.first.inner_text().split("\t")
    assert top[1].endswith("%") and top[5] in ("oui", "non")

    # The state survives a reload.
    page.reload()
    page.wait_for_selector("body[data-ready=true]", state="attached")
    assert page.locator("select[name=polarite]").input_value() == LENS
    assert page.locator("select[name=motif]").input_value() == "culture"


def test_estimates_weighting_and_interviews_are_shown_and_the_page_passes_axe(page, server):
    open_survey(page, server, "?motif=culture&variable=csp&par=sexe")
    estimates = page.locator("[data-estimates] table")
    assert "Répartition pondérée : Catégorie socioprofessionnelle, par sexe" in estimates.locator("caption").inner_text()
    assert estimates.locator("tr.group-row").count() == 2
    assert page.locator("[data-estimates]").inner_text().count("Test du χ²") == 1
    facts = page.locator("[data-weighting] dl").inner_text()
    assert "Taille d'échantillon effective (Kish)" in facts and "Effet de plan dû à la pondération" in facts
    assert page.locator("[data-interviews] details").count() >= 5
    page.locator("[data-interviews] details summary").first.click()
    assert page.locator("[data-interviews] blockquote").first.inner_text().startswith("« ")

    page.select_option("select[name=par]", "age")
    page.wait_for_function("() => new URL(location.href).searchParams.get('par') === 'age'")
    page.wait_for_function("() => document.querySelector('[data-estimates] caption').textContent.includes(\"par tranche d'âge\")")
    assert page.locator("[data-estimates] tr.group-row").count() == 5

    ARTIFACTS.mkdir(exist_ok=True)
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.screenshot(path=str(ARTIFACTS / "enquete.png"), full_page=True,
                    clip={"x": 0, "y": 0, "width": 1280, "height": min(height, 3200)})
    assert_accessible(page)
