"""The analysis modules that plug into the observatory.

Each name below is a module exposing:
- `NAVIGATION`: the menu entries of its pages, as `(page key, path, label)`;
- `router(context) -> fastapi.APIRouter`: its JSON API and its pages (rendered with `request.app.state.render`).
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

WEB_MODULES: list[str] = [
    "vigie.modules.barometre.web",
    "vigie.modules.foncier.web",
    "vigie.modules.foncier.zan_web",
    "vigie.modules.enquete.web",
    "vigie.access.web",  # last: the partner space closes the menu
]


def web_modules() -> list[ModuleType]:
    return [import_module(name) for name in WEB_MODULES]
