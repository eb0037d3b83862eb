"""Benchmark: first paint of the map explorer for all French communes, in headless Chromium.

Data: the national synthetic warehouse of `cube_national.py` (35,000 communes in 1,250 EPCI, 101 départements,
13 régions; few IRIS and variables here, the map needs none), with the base variables of the real catalogue's
population and employment indicators derived from its random values (so that « taux de chômage » and
« population » have 35,000 commune values for three census years) and the wavy polygon grid of `tiles.py` as the
communes' contours. The cube is then built with the real catalogue.

The app runs in its own process (uvicorn, one worker) and has prepared its caches and the tiles of zooms 0 to 9
(`prepared` on `/api`, as `vigie serve` after start-up; `VIGIE_TILES_PRERENDER_ZOOM=7` starts it sooner). Debian's Chromium (Playwright, the flags of DESIGN.md §5)
opens `/carte?indicator=…&level=commune` and the time until the map says it is drawn (`data-ready`, set on the
map's first `idle` once the values and classes are applied; at this national view, below zoom 7, what is drawn
first is the server's overview images, `/api/map/image`, and the vector tiles follow for the tooltips) is measured
from navigation start:
- cold: the first visit after the server started (its answers not built yet) with an empty browser cache;
- warm: later visits from fresh browser profiles (empty browser cache; the server has built its answers);
- revisit: the same profile again (browser cache and ETags).
Printed: first paint per run, the payload sizes of what the page downloaded (values, classes, label points,
tiles, script), and tile latencies (in the page, and p95 from the client over zooms 5 to 9).

    .venv/bin/python benchmarks/map_first_paint.py [--communes 35000] [--keep /tmp/national-map.duckdb] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pyproj
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_latency import percentile, serve  # noqa: E402
from cube_national import COG, YEARS  # noqa: E402
from cube_national import make_warehouse as make_cube_warehouse  # noqa: E402
from tiles import grid, tiles_over_france  # noqa: E402

from vigie.engine.cube import build_cube  # noqa: E402
from vigie.publish.tiles import PRERENDER_ZOOM  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

# Base variables of the real catalogue, derived from the benchmark's random variables v00… (0 to 5,000).
DERIVED = {
    "p_pop": "v00 * 4 + 50",
    "p_pop1564": "(v00 * 4 + 50) * 0.62",
    "p_act1564": "(v00 * 4 + 50) * 0.62 * (0.6 + v01 / 25000.0)",
    "p_actocc1564": "(v00 * 4 + 50) * 0.62 * (0.6 + v01 / 25000.0) * (0.8 + v02 / 30000.0)",
    "p_chom1564": "(v00 * 4 + 50) * 0.62 * (0.6 + v01 / 25000.0) * (0.2 - v02 / 30000.0)",
}


def make_warehouse(path: Path, n_communes: int) -> int:
    """The national warehouse of `cube_national`, with contours and the catalogue's employment variables."""
    polygons, _rows, _cols = grid(n_communes)
    n = min(len(polygons), n_communes)
    wh = make_cube_warehouse(path, n, n_iris=10, n_epci=1_250, n_vars=3)
    wh.execute("UPDATE source SET title = 'Communes fictives (benchmark)', synthetic = true")
    pivot = ", ".join(f"max(CASE WHEN indicator = 'v{i:02d}' THEN value END) AS v{i:02d}" for i in range(3))
    selects = " UNION ALL ".join(
        f"SELECT '{name}' AS indicator, level, code, year, cog, round({formula}) AS value, 'ok' AS status, 1 AS source_id "
        "FROM wide" for name, formula in DERIVED.items())
    wh.execute(f"INSERT INTO value (indicator, level, code, year, cog, value, status, source_id) "
               f"WITH wide AS (SELECT level, code, year, cog, {pivot} FROM value WHERE level = 'commune' "
               f"GROUP BY level, code, year, cog) {selects}")
    to_wgs84 = pyproj.Transformer.from_crs(2154, 4326, always_xy=True)
    polygons = polygons[:n]
    web = shapely.transform(polygons, lambda c: np.column_stack(to_wgs84.transform(c[:, 0], c[:, 1])))
    codes = np.array([f"{i:05d}" for i in range(10001, 10001 + n)])
    for start in range(0, n, 5000):
        part = slice(start, start + 5000)
        wh.insert_frame("territory_geometry", pd.DataFrame({
            "level": "commune", "code": codes[part], "cog": COG, "area_km2": shapely.area(polygons[part]) / 1e6,
            "geom": polygons[part], "geom_web": web[part], "source_id": 1,
        }))
    report = build_cube(wh, COG)
    wh.execute("CHECKPOINT")
    wh.close()
    print(f"cube : {report.rows:,} lignes en {report.seconds:.1f} s".replace(",", " "))
    return n


def visit(context, url: str) -> dict:
    """Open the map page in `context`; the time to the drawn map and what the page downloaded."""
    page = context.new_page()
    errors: list[str] = []
    tiles: list[dict] = []  # tiles are fetched by MapLibre's workers: not in the page's resource timing

    def finished(request) -> None:
        if request.url.endswith(".mvt"):
            timing = request.timing
            response = request.response()
            size = int(response.headers.get("content-length", 0)) if response else 0
            tiles.append({"name": request.url, "duration": timing["responseEnd"], "transfer": size, "body": size})

    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfinished", finished)
    page.goto(url)
    page.wait_for_selector("[data-map][data-ready=true]", state="attached", timeout=120_000)
    result = page.evaluate("""() => ({
        paint: Number(document.querySelector('[data-map]').dataset.paintMs || performance.now()),
        marks: performance.getEntriesByType('mark').filter(m => m.name.startsWith('vigie:'))
            .map(m => [m.name.slice(6), Math.round(m.startTime)]),
        resources: performance.getEntriesByType('resource').map(r => ({
            name: r.name, duration: r.duration, transfer: r.transferSize, body: r.decodedBodySize})),
    })""")
    result["resources"] += tiles
    page.close()
    if errors:
        raise SystemExit(f"erreurs JavaScript : {errors}")
    return result


def kind_of(name: str) -> str:
    for key, label in (("/tiles/", "tuiles"), ("/api/map/image/", "images d'aperçu (serveur)"),
                       ("/api/map/", "valeurs et classes (carte)"), ("/api/cube", "valeurs (cube)"),
                       ("/api/classes", "classes"), ("/api/geo/", "contours GeoJSON"), ("/api/catalogue", "catalogue"),
                       (".js", "script"), (".css", "styles")):
        if key in name:
            return label
    return "autre"


def describe(label: str, run: dict) -> None:
    sizes: dict[str, list[int]] = {}
    for r in run["resources"]:
        k = kind_of(r["name"])
        sizes.setdefault(k, [0, 0, 0])
        sizes[k][0] += 1
        sizes[k][1] += r["transfer"]
        sizes[k][2] += r["body"]
    tiles = [r["duration"] for r in run["resources"] if "/tiles/" in r["name"] and r["name"].endswith(".mvt")]
    print(f"  {label}: première peinture {run['paint']:.0f} ms "
          f"({', '.join(f'{name} {t}' for name, t in run['marks'])})")
    for k, (count, transfer, body) in sorted(sizes.items()):
        print(f"    {k:<28} {count:>3} fichier(s)  {transfer / 1024:8.1f} KiB transférés  {body / 1024:8.1f} KiB décodés")
    if tiles:
        print(f"    tuiles dans la page : p50 {statistics.median(tiles):.0f} ms, p95 {percentile(tiles, 95):.0f} ms, "
              f"max {max(tiles):.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communes", type=int, default=35_000)
    parser.add_argument("--keep", help="garder (ou réutiliser) l'entrepôt généré à ce chemin")
    parser.add_argument("--runs", type=int, default=5, help="visites « à chaud » mesurées")
    parser.add_argument("--indicator", default="taux_chomage")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep) if args.keep else Path(tmp) / "national-map.duckdb"
        if not path.exists():
            start = time.perf_counter()
            n = make_warehouse(path, args.communes)
            print(f"entrepôt national fictif : {n:,} communes, années {YEARS}, écrit en "
                  f"{time.perf_counter() - start:.1f} s".replace(",", " "))
        start = time.perf_counter()
        with serve(str(path)) as base, sync_playwright() as p:
            print(f"serveur prêt en {time.perf_counter() - start:.1f} s (caches, géométries et tuiles des zooms 0 à "
                  f"{PRERENDER_ZOOM})")
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            viewport = {"width": 1280, "height": 900}
            results: dict[str, list[float]] = {}
            for indicator in (args.indicator, "population"):
                url = f"{base}/carte?indicator={indicator}&level=commune"
                print(f"{url}")
                context = browser.new_context(viewport=viewport, locale="fr-FR")
                cold = visit(context, url)
                describe("à froid (1re visite après le démarrage, cache du navigateur vide)", cold)
                again = visit(context, url)
                describe("revisite (même profil : cache du navigateur, ETag)", again)
                context.close()
                warm = []
                for i in range(args.runs):
                    context = browser.new_context(viewport=viewport, locale="fr-FR")
                    run = visit(context, url)
                    context.close()
                    warm.append(run["paint"])
                    if i == 0:
                        describe("à chaud (nouveau profil, réponses du serveur déjà construites)", run)
                print(f"  à chaud, {args.runs} visites : médiane {statistics.median(warm):.0f} ms, "
                      f"max {max(warm):.0f} ms ({', '.join(f'{w:.0f}' for w in warm)})")
                results[indicator] = [cold["paint"], again["paint"], statistics.median(warm)]
            browser.close()
            with httpx.Client(base_url=base, headers={"Accept-Encoding": "gzip"}, timeout=60) as client:
                times, sizes = [], []
                for z in range(5, 10):
                    for _z, x, y in tiles_over_france(z, 40):
                        t0 = time.perf_counter()
                        r = client.get(f"/tiles/commune/{z}/{x}/{y}.mvt")
                        times.append((time.perf_counter() - t0) * 1000)
                        if r.status_code == 200:
                            sizes.append(r.num_bytes_downloaded)
                print(f"tuiles des zooms 5 à 9 par HTTP ({len(times)}) : p50 {statistics.median(times):.1f} ms, "
                      f"p95 {percentile(times, 95):.1f} ms ; taille gzip médiane {statistics.median(sizes) / 1024:.1f} KiB, "
                      f"max {max(sizes) / 1024:.1f} KiB")
            print("résumé (ms) : indicateur, à froid, revisite, à chaud (médiane)")
            for indicator, (c, a, w) in results.items():
                print(f"  {indicator:<16} {c:7.0f} {a:7.0f} {w:7.0f}")


if __name__ == "__main__":
    main()
