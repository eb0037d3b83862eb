"""What the browser tests need: the Debian Chromium driven by Playwright, the app served on a free loopback port,
axe-core from the front end's node_modules, and a small PNG reader to look at the pixels of a screenshot.

Nothing is downloaded: Playwright drives `/usr/bin/chromium` (`make test-deps` installs it); its own browser
builds are never used (`playwright install` is never run).
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
import time
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB_DIR = ROOT / "web"
AXE = WEB_DIR / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path(os.environ.get("VIGIE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


def require_browser_tools() -> None:
    """Fail (never skip) with what is missing and how to get it."""
    from vigie.publish.web import MANIFEST

    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"Chromium est introuvable ({CHROMIUM})")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("le paquet Python « playwright » n'est pas installé")
    if not MANIFEST.is_file():
        missing.append(f"l'interface web n'est pas construite ({MANIFEST} absent ; « npm ci && npm run build » dans web/)")
    if not AXE.is_file():
        missing.append(f"axe-core est absent ({AXE} ; « npm ci » dans web/)")
    if missing:
        pytest.fail("Tests du navigateur impossibles : " + " ; ".join(missing)
                    + ". Lancez « make test-deps » (ou « make test », qui l'appelle).", pytrace=False)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The observatory app (API + pages) served by uvicorn in a thread, on 127.0.0.1 and a free port."""

    def __init__(self, database: Path):
        import uvicorn

        from vigie.publish.api import create_app
        from vigie.publish.web import mount_web

        app = create_app(str(database))
        if not any(getattr(route, "path", None) == "/carte" for route in app.router.routes):
            mount_web(app)  # until create_app mounts the pages itself
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, name="vigie-live-server", daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("le serveur de test n'a pas démarré")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


# ---------------------------------------------------------------------------------------------- PNG pixels
def png_pixels(data: bytes) -> tuple[int, int, int, bytes]:
    """(width, height, channels, raw pixel bytes) of an 8-bit, non-interlaced RGB or RGBA PNG (Chromium's)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("pas un fichier PNG")
    pos, idat, width = 8, [], 0
    height = channels = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", chunk)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise ValueError(f"PNG non géré (profondeur {depth}, couleur {colour}, entrelacement {interlace})")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat.append(chunk)
        pos += 12 + length
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    out = bytearray(height * stride)
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        out[y * stride:(y + 1) * stride] = line
        previous = line
    return width, height, channels, bytes(out)


def colour_census(data: bytes, background: tuple[int, int, int], step: int = 3) -> tuple[float, int]:
    """Share of sampled pixels that differ from `background`, and the number of distinct colours among them."""
    width, height, channels, pixels = png_pixels(data)
    drawn, colours, seen = 0, set(), 0
    for y in range(0, height, step):
        row = y * width * channels
        for x in range(0, width, step):
            i = row + x * channels
            rgb = (pixels[i], pixels[i + 1], pixels[i + 2])
            seen += 1
            if max(abs(rgb[k] - background[k]) for k in range(3)) > 6:
                drawn += 1
                colours.add(rgb)
    return drawn / max(seen, 1), len(colours)


def assert_accessible(page) -> None:
    """axe-core (from web/node_modules, injected into the page) finds no serious or critical violation."""
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(v => ({
              id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
    )
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, "violations d'accessibilité graves : " + json.dumps(serious, ensure_ascii=False, indent=1)
