"""The observatory's web pages: HTML shells rendered with Jinja2, filled in the browser from the JSON API.

`mount_web(app)` adds the pages and the static bundle to the app made by `create_app`:

- `/` (home: search and key figures), `/territoire/{level}/{code}` (portrait), `/carte` (map explorer),
  `/comparer` (comparator), `/donnees` (table and downloads), `/catalogue` (definitions, sources, licences);
- `/static/dist/…`: the JavaScript and CSS bundle built by Vite from `web/` (`npm run build`).

Every page keeps its state in its URL, and `?embed=1` renders its chart or map alone, for an iframe.

`/` is shared with the JSON landing of the API: the home page answers only requests that ask for HTML (browsers),
so API clients asking `/` for JSON keep getting JSON whatever order the routes were added in.

The territory whose key figures the home page shows is `VIGIE_TERRITOIRE_ACCUEIL` (`niveau:code`, e.g.
`pole_metropolitain:PMA`); without it, the first territory of the widest grouping levels present in the warehouse.
"""

from __future__ import annotations

import gzip
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.routing import Match
from starlette.types import Scope

import vigie
from vigie.errors import NotFoundError, VigieError
from vigie.publish.terminal import LEVEL_LABELS, SYNTHETIC_MARK
from vigie.warehouse import Territory, Warehouse

PUBLISH_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PUBLISH_DIR / "templates"
DIST_DIR = PUBLISH_DIR / "static" / "dist"
MANIFEST = DIST_DIR / "manifest.json"
ENTRY = "src/main.js"

HOME_TERRITORY_VARIABLE = "VIGIE_TERRITOIRE_ACCUEIL"
# Without configuration, the home page shows the first territory of the first of these levels found.
HOME_LEVELS = ["pole_metropolitain", "scot", "petr", "departement", "region"]

# Levels offered by the map explorer and the data page, in this order, when the warehouse has them.
MAP_LEVELS = ["commune", "epci", "qpv", "iris", "zone_emploi", "departement", "scot", "petr", "pole_metropolitain", "region"]

NAVIGATION = [
    ("home", "/", "Accueil"),
    ("map", "/carte", "Carte"),
    ("compare", "/comparer", "Comparer"),
    ("data", "/donnees", "Données"),
    ("catalogue", "/catalogue", "Catalogue"),
]


# ---------------------------------------------------------------------------------------------- bundle
class Bundle:
    """The files Vite built for the entry point, read from its manifest (hashed names, cached for ever).

    The manifest is read again when it changes, so that a rebuild (`npm run build`, `npm run watch`) is served
    without restarting the app.
    """

    def __init__(self, manifest: Path = MANIFEST):
        self.manifest = manifest
        self._stamp: float | None = None
        self.script: str | None = None
        self.styles: list[str] = []
        self._entries: dict[str, dict] = {}

    @property
    def ready(self) -> bool:
        try:
            stamp = self.manifest.stat().st_mtime
        except OSError:
            self._stamp, self.script, self.styles = None, None, []
            return False
        if stamp != self._stamp:
            entries = json.loads(self.manifest.read_text(encoding="utf-8"))
            entry = entries.get(ENTRY) or next(e for e in entries.values() if e.get("isEntry"))
            self.script, self.styles, self._stamp = entry["file"], list(entry.get("css", [])), stamp
            self._entries = entries
        return True

    def page_files(self, page: str) -> tuple[list[str], list[str]]:
        """The scripts and styles the page's module imports (statically), for `<link rel="modulepreload">`: the
        browser fetches them with the entry script instead of one after the other."""
        scripts: list[str] = []
        styles: list[str] = []
        todo = [f"src/pages/{page}.js"]
        seen = {ENTRY}
        while todo:
            name = todo.pop()
            if name in seen or name not in self._entries:
                continue
            seen.add(name)
            item = self._entries[name]
            scripts.append(item["file"])
            styles += [css for css in item.get("css", []) if css not in self.styles and css not in styles]
            todo += item.get("imports", [])
        return scripts, styles


class BundleFiles(StaticFiles):
    """Static files of the bundle; hashed assets are immutable, so browsers may keep them for a year.

    Scripts and styles are gzipped once and kept in memory (MapLibre alone is 1 MB, 290 kB gzipped): compressing
    them for every page view, as the app's gzip middleware would, cost the server ~40 ms of CPU per map page."""

    COMPRESSED = (".js", ".css", ".svg", ".json")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._gzipped: dict[tuple[str, float], bytes] = {}

    async def get_response(self, path: str, scope: Scope):
        response = await super().get_response(path, scope)
        if response.status_code != 200 or not path.startswith("assets/"):
            return response
        headers = {"Cache-Control": "public, max-age=31536000, immutable", "Vary": "Accept-Encoding"}
        source = Path(getattr(response, "path", ""))
        if source.suffix in self.COMPRESSED and _accepts_gzip(scope):
            return Response(self._gzip(source), media_type=response.media_type,
                            headers={**headers, "Content-Encoding": "gzip"})
        response.headers.update(headers)
        return response

    def _gzip(self, source: Path) -> bytes:
        key = (str(source), source.stat().st_mtime)
        body = self._gzipped.get(key)
        if body is None:
            body = self._gzipped[key] = gzip.compress(source.read_bytes(), compresslevel=9, mtime=0)
        return body

    def precompress(self) -> None:
        """Compress every script and style now (at start-up, `AppContext.warm_hooks`), not for the first visitor."""
        folder = Path(self.directory or "") / "assets"
        for source in sorted(folder.glob("*")) if folder.is_dir() else []:
            if source.suffix in self.COMPRESSED:
                self._gzip(source)


def _accepts_gzip(scope: Scope) -> bool:
    return b"gzip" in _header(scope, b"accept-encoding")


def _header(scope: Scope, name: bytes) -> bytes:
    """The value of a request header (empty when absent), read from the ASGI scope."""
    return next((value for key, value in scope.get("headers", []) if key == name), b"")


# ---------------------------------------------------------------------------------------------- routes
class HtmlOnlyRoute(APIRoute):
    """A route that matches only requests accepting HTML (browsers): `/` stays the API's JSON for other clients."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.NONE or _accepts_html(scope):
            return match, child
        return Match.NONE, {}


def _accepts_html(scope: Scope) -> bool:
    return b"text/html" in _header(scope, b"accept")


@lru_cache(maxsize=1)
def _templates() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    return env


def home_territory(wh: Warehouse) -> Territory | None:
    """The territory of the home page's key figures (see the module docstring)."""
    configured = os.environ.get(HOME_TERRITORY_VARIABLE, "").strip()
    if configured:
        level, _, code = configured.partition(":")
        try:
            return wh.find_territory(code, level=level) if code else wh.find_territory(level)
        except VigieError:
            return None
    for level in HOME_LEVELS:
        found = wh.territories(level=level)
        if len(found):
            row = found.iloc[0]
            return Territory(row["level"], row["code"], int(row["cog"]), row["name"])
    return None


def map_preloads(request: Request, default: str | None) -> list[str]:
    """The addresses the map page asks first (code order and values), written exactly as its script writes them,
    for `<link rel="preload">`: they travel while the scripts load."""
    prefix = request.scope.get("root_path", "").rstrip("/")
    query = request.query_params
    level = query.get("level") or "commune"
    indicator = query.get("indicator") or default
    if not indicator:
        return []
    asked = {"indicator": indicator, "level": level, "year": query.get("year") or "",
             "method": query.get("method") or "quantiles", "k": query.get("k") or "5"}
    values = urlencode([(k, v) for k, v in asked.items() if v])
    return [f"{prefix}/api/map/codes/{quote(level, safe='')}", f"{prefix}/api/map/values?{values}"]


def mount_web(app: FastAPI, extra_navigation: list[tuple[str, str, str]] = ()) -> None:
    """Add the observatory's pages and static bundle to `app` (made by `vigie.publish.api.create_app`).

    `extra_navigation` adds the analysis modules' pages to the menu. Their routers render their pages with
    `app.state.render(request, template, page, title, **context)`, the same shell as the core pages.
    """
    access = app.state.access
    navigation = [*NAVIGATION, *extra_navigation]
    bundle = Bundle()
    files = BundleFiles(directory=str(DIST_DIR), check_dir=False)
    app.mount("/static/dist", files, name="bundle")
    context = getattr(app.state, "context", None)
    if context is not None:
        context.warm_hooks.insert(0, files.precompress)
    home_router = APIRouter(route_class=HtmlOnlyRoute, include_in_schema=False)
    router = APIRouter(include_in_schema=False)

    def levels(wh: Warehouse) -> list[dict[str, str]]:
        present = set(wh.levels())
        ordered = [lvl for lvl in MAP_LEVELS if lvl in present] + sorted(present - set(MAP_LEVELS))
        return [{"id": lvl, "label": LEVEL_LABELS.get(lvl, lvl)} for lvl in ordered]

    def render(request: Request, template: str, page: str, title: str, status_code: int = 200,
               **context: Any) -> HTMLResponse:
        prefix = request.scope.get("root_path", "").rstrip("/")
        embed = request.query_params.get("embed") in ("1", "true", "oui")
        with access.use() as wh:
            level_list = levels(wh)
            with_contours = {r[0] for r in wh.query("SELECT DISTINCT level FROM territory_geometry")}
        config = {
            "page": page,
            "base": prefix,
            "embed": embed,
            "levels": level_list,
            "mapLevels": [lvl for lvl in level_list if lvl["id"] in with_contours],
            "levelLabels": {**LEVEL_LABELS, **{lvl["id"]: lvl["label"] for lvl in level_list}},
            "syntheticMark": SYNTHETIC_MARK,
            **context.pop("config", {}),
        }
        ready = bundle.ready
        preload_scripts, preload_styles = bundle.page_files(page) if ready else ([], [])
        html = _templates().get_template(template).render(
            preload_scripts=preload_scripts,
            preload_styles=preload_styles,
            page=page,
            bundle_ready=ready,
            title=title,
            prefix=prefix,
            embed=embed,
            bundle=bundle,
            navigation=[(key, prefix + path, label) for key, path, label in navigation],
            config_json=json.dumps(config, ensure_ascii=False).replace("</", "<\\/"),
            version=vigie.__version__,
            synthetic_mark=SYNTHETIC_MARK,
            **context,
        )
        return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-cache"})

    app.state.render = render

    @home_router.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        with access.use() as wh:
            territory = home_territory(wh)
        home = None if territory is None else {"level": territory.level, "code": territory.code, "name": territory.name}
        return render(request, "home.html", "home", "Vigie — observatoire territorial", home=home,
                      config={"home": home})

    @router.get("/territoire/{level}/{code}", response_class=HTMLResponse)
    def portrait(request: Request, level: str, code: str) -> HTMLResponse:
        try:
            from vigie.publish.context import visible

            if getattr(app.state, "context", None) is not None and level in visible(request).levels:
                raise NotFoundError(f"Aucun territoire n'a le code « {code} » au niveau « {level} ».")
            with access.use() as wh:
                territory = wh.find_territory(code, level=level)
        except VigieError as exc:
            return render(request, "not_found.html", "not_found", "Territoire introuvable — Vigie", 404,
                          message=exc.message)
        summary = {"level": territory.level, "code": territory.code, "name": territory.name}
        label = LEVEL_LABELS.get(territory.level, territory.level)
        return render(request, "portrait.html", "portrait", f"{territory.name} ({label}) — portrait — Vigie",
                      territory=summary, level_label=label, config={"territory": summary})

    @router.get("/carte", response_class=HTMLResponse)
    def map_explorer(request: Request) -> HTMLResponse:
        # The map starts on the level's extent and asks for its values at once: both are in the page's config.
        context = getattr(app.state, "context", None)
        extra: dict[str, Any] = {}
        if context is not None:
            level = request.query_params.get("level") or "commune"
            try:
                extra["mapBounds"] = context.map_layout(level).bounds
            except VigieError:
                pass
            extra["mapDefault"] = context.default_map_indicator
        return render(request, "map.html", "map", "Carte des indicateurs — Vigie", config=extra,
                      preload_fetches=map_preloads(request, extra.get("mapDefault")))

    @router.get("/comparer", response_class=HTMLResponse)
    def compare(request: Request) -> HTMLResponse:
        return render(request, "compare.html", "compare", "Comparer des territoires — Vigie")

    @router.get("/donnees", response_class=HTMLResponse)
    def data(request: Request) -> HTMLResponse:
        return render(request, "data.html", "data", "Données et téléchargements — Vigie")

    @router.get("/catalogue", response_class=HTMLResponse)
    def catalogue(request: Request) -> HTMLResponse:
        return render(request, "catalogue.html", "catalogue", "Catalogue des indicateurs — Vigie")

    # Pages first: `/` must be tried before the API's JSON landing (which still answers non-HTML requests).
    before = len(app.router.routes)
    app.include_router(home_router)
    app.include_router(router)
    added = app.router.routes[before:]
    del app.router.routes[before:]
    app.router.routes[0:0] = added
