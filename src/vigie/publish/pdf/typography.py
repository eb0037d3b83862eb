"""French typography for printed text: the no-break spaces before `%`, `:`, `;`, `?`, `!` and inside « »."""

from __future__ import annotations

import re
from functools import lru_cache

NBSP = "\u00a0"  # before % and :, inside « » (Imprimerie nationale usage)
NNBSP = "\u202f"  # narrow: before ; ? !

_BEFORE_WIDE = re.compile(r"[ \u00a0\u202f]*([%:»])")
_BEFORE_NARROW = re.compile(r"[ \u00a0\u202f]*([;?!])")
_AFTER_OPEN = re.compile(r"«[ \u00a0\u202f]*")
_URL = re.compile(r"\w+://\S+")


@lru_cache(maxsize=1 << 16)
def french(text: str) -> str:
    """Put the right no-break space before high punctuation and inside guillemets (URLs left alone).

    `Taux : 12 %` → `Taux\u00a0: 12\u00a0%`. Idempotent. A colon between digits (`10:30`) is left as is.
    """
    if not text:
        return text
    urls = _URL.findall(text)
    for i, url in enumerate(urls):
        text = text.replace(url, f"\x00{i}\x00")
    text = re.sub(r"(?<=\d):(?=\d)", "\x01", text)
    text = _BEFORE_WIDE.sub(lambda m: NBSP + m.group(1), text)
    text = _BEFORE_NARROW.sub(lambda m: NNBSP + m.group(1), text)
    text = _AFTER_OPEN.sub("«" + NBSP, text)
    text = text.replace("\x01", ":")
    for i, url in enumerate(urls):
        text = text.replace(f"\x00{i}\x00", url)
    return text
