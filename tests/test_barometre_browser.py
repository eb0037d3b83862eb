"""The page `/barometre` in headless Chromium over the demo warehouse and its barometer series (smoke test).

It loads with its key figures (arrows ▲▼), says which series are missing for the quarter, draws the chosen series
with its data table; choosing another series or quarter rewrites the URL; axe-core finds no serious violation.
"""

from __future__ import annotations



from tests.browser_support import ARTIFACTS, assert_accessible


def wait_ready(page) -> None:
    page.wait_for_selector("body[data-ready=true]", state="attached")


def test_release_page_figures_chooser_url_and_accessibility(page, server):
    page.goto(f"{server.url}/barometre")
    wait_ready(page)
    assert page.title() == "Baromètre économique — Vigie"
    cards = page.locator("[data-cards] li")
    assert cards.count() >= 8
    chomage = page.locator("[data-serie=chomage_taux]").inner_text()
    assert "Lens" in chomage and "10,8" in chomage and ("▲" in chomage or "▼" in chomage)
    assert "Série absente pour 2025-T4 : Ventes de logements" in page.locator("[data-missing]").inner_text()
    assert "données fictives de démonstration" in page.locator(".notice-demo").inner_text()
    assert page.locator("[data-series] figure svg").count() == 1
    assert page.locator("[data-series] table").count() >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "barometre.png"), full_page=True)
    page.select_option("select[name=serie]", "defm_a")
    wait_ready(page)
    assert "serie=defm_a" in page.url
    assert "Demandeurs d'emploi de catégorie A" in page.locator("[data-series] figcaption").inner_text()
    page.select_option("select[name=trimestre]", "2025-T2")
    wait_ready(page)
    assert "trimestre=2025-T2" in page.url
    assert "2e trimestre 2025" in page.locator("[data-status]").inner_text()
    assert_accessible(page)
