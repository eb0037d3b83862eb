"""The study library: published studies and notes (PDF) with title, theme, territories, date and visibility.

Each study is a row of the access store's `document` table and a file `<id>.pdf` in a folder beside the store
(`vigie-acces.sqlite` → `vigie-acces-etudes/`; with PostgreSQL, `VIGIE_ETUDES` or `./vigie-etudes`). Its visibility
is the ONE rule of `policy` (kind `document`): public, restricted to listed organisations, or private to the agency;
a hidden study answers 404 exactly like one that does not exist.

Uploads (editors and administrators) are checked before anything is written: a PDF (`%PDF-` magic bytes, an
`%%EOF` marker near the end), at most `MAX_BYTES`, a title, a known theme, territories as `level:code`, a date.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from vigie.access.policy import (
    PRIVATE,
    PUBLIC,
    RESTRICTED,
    Rules,
    Viewer,
    set_visibility,
)
from vigie.access.schema import AccessStore, now
from vigie.errors import NotFoundError, VigieError

FOLDER_VARIABLE = "VIGIE_ETUDES"
MAX_BYTES = 20 * 1024 * 1024
THEMES = {
    "economie": "Économie et emploi", "foncier": "Foncier et aménagement", "habitat": "Habitat et logement",
    "mobilite": "Mobilités", "population": "Population et société", "environnement": "Environnement et climat",
    "equipements": "Équipements et services", "territoire": "Portrait de territoire",
}
NOT_FOUND = "Aucune étude n'a cet identifiant."
_TERRITORY = re.compile(r"^[a-z_]+:[0-9A-Za-z_-]{1,20}$")


class InvalidStudy(VigieError):
    http_status = 422


class StudyTooLarge(VigieError):
    http_status = 413


class UploadForbidden(VigieError):
    http_status = 403


@dataclass(frozen=True)
class Study:
    id: str
    title: str
    theme: str
    territories: tuple[str, ...]
    published_on: str  # ISO date
    file_name: str
    size: int
    sha256: str
    owner: str | None
    uploaded_by: str
    uploaded_at: float
    visibility: str = PUBLIC

    @property
    def theme_label(self) -> str:
        return THEMES.get(self.theme, self.theme)


def folder(store: AccessStore) -> Path:
    """Where the PDF files live (created on first use)."""
    configured = os.environ.get(FOLDER_VARIABLE, "").strip()
    if configured:
        path = Path(configured)
    elif store.backend == "sqlite" and store.location != ":memory:":
        location = Path(store.location)
        path = location.with_name(f"{location.stem}-etudes")
    else:
        path = Path("vigie-etudes")
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---------------------------------------------------------------------------------------------- checks
def check_pdf(content: bytes, file_name: str = "") -> None:
    """A PDF within the size limit, or a French error."""
    name = f"« {file_name} » " if file_name else ""
    if not content:
        raise InvalidStudy(f"Le fichier {name}est vide.")
    if len(content) > MAX_BYTES:
        raise StudyTooLarge(f"Le fichier {name}dépasse la taille maximale de {MAX_BYTES // (1024 * 1024)} Mo.")
    if not content.startswith(b"%PDF-"):
        raise InvalidStudy(f"Le fichier {name}n'est pas un PDF (il ne commence pas par « %PDF- »).")
    if b"%%EOF" not in content[-2048:]:
        raise InvalidStudy(f"Le fichier {name}est un PDF incomplet (marqueur de fin « %%EOF » absent).")


def parse_territories(value) -> tuple[str, ...]:
    """`"commune:62498, epci:246200364"` or a list → ("commune:62498", "epci:246200364")."""
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,;\s]+", str(value or ""))
    out = []
    for item in items:
        item = str(item).strip()
        if not item:
            continue
        if not _TERRITORY.match(item):
            raise InvalidStudy(f"Territoire « {item} » mal écrit : attendu « niveau:code », par exemple « epci:246200364 ».")
        if item not in out:
            out.append(item)
    return tuple(out)


def parse_date(value) -> str:
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise InvalidStudy(f"Date « {value} » invalide : attendu AAAA-MM-JJ.") from None


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()


def _file_name(name: str) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", _plain(Path(name or "etude.pdf").name)).strip("._") or "etude"
    return base if base.lower().endswith(".pdf") else base + ".pdf"


# ---------------------------------------------------------------------------------------------- writing
def add(store: AccessStore, viewer: Viewer, content: bytes, *, title: str, theme: str, territories, published_on,
        visibility: str = PUBLIC, organisations=(), file_name: str = "etude.pdf", owner: str | None = None) -> Study:
    """Store a study (checked first). Editors (of any organisation) and administrators may upload; the owner is the
    organisation the editor edits for (the first one), or `owner` for an administrator."""
    editable = sorted(o for o, r in viewer.roles.items() if r == "editor")
    if not viewer.authenticated or not (viewer.admin or editable) or not viewer.has_scope("edition"):
        raise UploadForbidden("Dépôt refusé : seuls les éditeurs et les administrateurs déposent des études.")
    title = " ".join((title or "").split())
    if not 3 <= len(title) <= 300:
        raise InvalidStudy("Le titre de l'étude est obligatoire (3 à 300 caractères).")
    if theme not in THEMES:
        raise InvalidStudy(f"Thème « {theme} » inconnu ; thèmes possibles : {', '.join(THEMES)}.")
    places = parse_territories(territories)
    day = parse_date(published_on)
    check_pdf(content, file_name)
    if owner is None or not viewer.admin:
        owner = owner if owner in editable else (editable[0] if editable else None)
    level = visibility
    study_id = secrets.token_hex(8)
    digest = hashlib.sha256(content).hexdigest()
    target = folder(store) / f"{study_id}.pdf"
    orgs = list(organisations)
    if level in ("restricted", "restreint") and not orgs and owner:
        orgs = [owner]
    with store.transaction():
        store.execute("INSERT INTO document (id, title, theme, territories, published_on, file_name, size, sha256, owner, "
                      "uploaded_by, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (study_id, title, theme, ",".join(places), day, _file_name(file_name), len(content), digest, owner,
                       viewer.login, now()))
        rule = set_visibility(store, "document", study_id, level, orgs, owner=owner, by=viewer.login)
        tmp = target.with_suffix(".part")
        tmp.write_bytes(content)
        tmp.replace(target)
    from vigie.access import audit

    audit.record(store, "etude_deposee", login=viewer.login, object_kind="document", object_id=study_id,
                 detail={"titre": title, "visibilite": rule.level})
    return get(store, study_id)


# ---------------------------------------------------------------------------------------------- reading
_COLUMNS = "id, title, theme, territories, published_on, file_name, size, sha256, owner, uploaded_by, uploaded_at"


def _study(row, rules: Rules | None = None) -> Study:
    sid, title, theme, places, day, name, size, digest, owner, by, at = row
    level = rules.rule("document", sid).level if rules is not None else PUBLIC
    return Study(sid, title, theme, tuple(p for p in (places or "").split(",") if p), day, name, int(size), digest, owner,
                 by, float(at), level)


def get(store: AccessStore, study_id: str) -> Study:
    rows = store.query(f"SELECT {_COLUMNS} FROM document WHERE id = ?", (study_id,))
    if not rows:
        raise NotFoundError(NOT_FOUND)
    return _study(rows[0], Rules.load(store))


def search(store: AccessStore, viewer: Viewer, rules: Rules, *, text: str | None = None, theme: str | None = None,
           territory: str | None = None, limit: int = 200) -> list[Study]:
    """The studies this viewer may see, newest first, filtered by words of the title (accents ignored), theme,
    territory (`level:code`)."""
    rows = store.query(f"SELECT {_COLUMNS} FROM document ORDER BY published_on DESC, uploaded_at DESC")
    words = _plain(text or "").split()
    out = []
    for row in rows:
        study = _study(row, rules)
        if not rules.can_see(viewer, "document", study.id):
            continue
        if theme and study.theme != theme:
            continue
        if territory and territory not in study.territories:
            continue
        if words and not all(w in _plain(study.title) for w in words):
            continue
        out.append(study)
        if len(out) >= limit:
            break
    return out


def visible(store: AccessStore, viewer: Viewer, rules: Rules, study_id: str) -> Study:
    """The study, or 404 (same answer whether it does not exist or is hidden from this viewer)."""
    rows = store.query(f"SELECT {_COLUMNS} FROM document WHERE id = ?", (study_id,))
    if not rows or not rules.can_see(viewer, "document", study_id):
        raise NotFoundError(NOT_FOUND)
    return _study(rows[0], rules)


def content(store: AccessStore, study: Study) -> bytes:
    path = folder(store) / f"{study.id}.pdf"
    if not path.is_file():
        raise NotFoundError(NOT_FOUND)
    return path.read_bytes()


def remove(store: AccessStore, viewer: Viewer, study_id: str) -> None:
    """Delete a study (its uploader's organisation editors, or an administrator)."""
    study = get(store, study_id)
    if not (viewer.admin or viewer.can_edit(study.owner)):
        raise UploadForbidden("Suppression refusée : réservée aux éditeurs de l'organisation de l'étude et aux administrateurs.")
    with store.transaction():
        store.execute("DELETE FROM document WHERE id = ?", (study_id,))
        store.execute("DELETE FROM visibility_organisation WHERE kind = 'document' AND object_id = ?", (study_id,))
        store.execute("DELETE FROM visibility WHERE kind = 'document' AND object_id = ?", (study_id,))
    (folder(store) / f"{study_id}.pdf").unlink(missing_ok=True)
    from vigie.access import audit

    audit.record(store, "etude_supprimee", login=viewer.login, object_kind="document", object_id=study_id)


VISIBILITY_LABELS = {PUBLIC: "public", RESTRICTED: "restreint", PRIVATE: "privé (agence)"}
