"""Broken files: each fails with a French message naming file, line and column, and leaves the warehouse as it was.

The last test kills an import with SIGKILL while it writes, and checks that the warehouse file reopens unchanged.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from vigie.errors import ImportValidationError
from vigie.sources.base import CHUNK_ROWS, run_import
from vigie.sources.census import CensusImporter
from vigie.sources.generic_csv import GenericCsvImporter
from vigie.warehouse import connect
from tests.support import seed_communes

BAD = Path(__file__).parent / "fixtures" / "bad"
CENSUS = Path(__file__).parent / "fixtures" / "census"
COMMUNES = {"62119": "Béthune", "62427": "Hénin-Beaumont", "62498": "Lens", "62510": "Liévin"}


def seed(wh):
    """Communes at COG 2023 (census files) and 2026 (generic CSV), plus one census file already imported."""
    seed_communes(wh, COMMUNES, cog=2023)
    seed_communes(wh, COMMUNES, cog=2026)
    run_import(wh, CensusImporter(CENSUS / "base-cc-emploi-pop-active-2020.CSV", cog=2023))
    return wh


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """One warehouse for all refusals: each test checks that its refused import left it exactly as it was."""
    warehouse = connect(str(tmp_path_factory.mktemp("refus") / "entrepot.duckdb"))
    seed(warehouse)
    yield warehouse
    warehouse.close()


def refused(wh, importer, *, line, column, words):
    """Run the import, expect a refusal naming file, line and column; the warehouse must not change."""
    before = wh.digest()
    with pytest.raises(ImportValidationError) as err:
        run_import(wh, importer)
    exc = err.value
    name = importer.path.name
    assert exc.file == name
    assert f"fichier « {name} »" in exc.message
    assert (exc.line, exc.column) == (line, column), exc.message
    if line is not None:
        assert f"ligne {line}" in exc.message
    if column is not None:
        assert f"colonne « {column} »" in exc.message
    for w in words:
        assert w in exc.message, exc.message
    assert wh.digest() == before
    return exc


def test_wrong_separator(seeded):
    refused(seeded, CensusImporter(BAD / "base-cc-logement-2021_virgules.CSV"),
            line=1, column=None, words=["séparateur inattendu", "virgule", "point-virgule"])


def test_latin1_file_for_a_mapping_that_says_utf8(seeded):
    # "Liévin" on line 3: the byte 0xe9 sits in the LIBGEO field.
    refused(seeded, GenericCsvImporter(BAD / "permis_latin1.csv", mapping=str(BAD / "permis_utf8.yaml")),
            line=3, column="LIBGEO", words=["UTF-8", "0xe9", "Latin-1"])


def test_missing_column(seeded):
    refused(seeded, CensusImporter(BAD / "base-ic-evol-struct-pop-2021_sans_COM.CSV"),
            line=1, column="COM", words=["colonne obligatoire absente"])


def test_unknown_commune_code(seeded):
    refused(seeded, CensusImporter(BAD / "base-cc-logement-2021_code_inconnu.CSV"),
            line=4, column="CODGEO", words=["62999", "inconnu", "COG 2023"])


def test_duplicated_row(seeded):
    refused(seeded, CensusImporter(BAD / "base-cc-logement-2021_doublon.CSV"),
            line=5, column="CODGEO", words=["ligne en double", "62427", "déjà présente ligne 3"])


def test_non_numeric_value(seeded):
    refused(seeded, CensusImporter(BAD / "base-cc-logement-2021_non_numerique.CSV"),
            line=3, column="P21_RSECOCC", words=["valeur non numérique « 6O »"])


def test_truncated_last_line(seeded):
    # The last line stops inside P21_RP: P21_RSECOCC is the first column without a value.
    refused(seeded, CensusImporter(BAD / "base-cc-logement-2021_tronque.CSV"),
            line=5, column="P21_RSECOCC", words=["6 champ(s) au lieu de 13", "tronqué"])


def test_unclosed_quote(seeded):
    refused(seeded, CensusImporter(BAD / "base-cc-logement-2021_guillemet.CSV"),
            line=4, column="LIBGEO", words=["guillemet non fermé"])


def test_empty_file_and_header_only(seeded):
    refused(seeded, CensusImporter(BAD / "base-cc-logement-2021_vide.CSV"), line=None, column=None, words=["vide"])
    refused(seeded, CensusImporter(BAD / "base-cc-logement-2021_entete_seule.CSV"),
            line=2, column=None, words=["aucune ligne de données"])


def test_a_file_of_another_kind(seeded):
    refused(seeded, CensusImporter(BAD / "sitadel_logements_communes_62_extrait.csv"),
            line=1, column=None, words=["n'a pas la forme d'une base du recensement", "code_insee"])


def test_census_auto_encoding_reads_a_genuine_latin1_file(wh):
    seed(wh)
    path = BAD / "base-ic-evol-struct-pop-2021_latin1.CSV"
    assert b"\xc9glise" in path.read_bytes()  # really ISO-8859-1, not UTF-8
    run_import(wh, CensusImporter(path))
    names = wh.territories("iris", cog=2023).set_index("code")["name"]
    assert names["621190101"] == "Quartier de l'Église Saint-Vaast"
    assert names["624980102"] == "Cité 12-14 Nord - Hénin"
    assert wh.query("SELECT value FROM value WHERE indicator = 'p_popf' AND code = '624980102'") == [(1100.4,)]


# ------------------------------------------------------------------------------------------------ SIGKILL

KILLED_IMPORT = """
import sys
from vigie.progress import reporter
from vigie.sources.base import run_import
from vigie.sources.census import CensusImporter
from vigie.warehouse import connect

wh = connect(sys.argv[1])
with reporter() as progress:
    run_import(wh, CensusImporter(sys.argv[2]), progress)
wh.close()
print("IMPORT TERMINÉ", flush=True)
"""


def big_census_file(path: Path, codes: list[str], columns: int) -> None:
    rng = np.random.default_rng(7)
    values = rng.random((len(codes), columns)) * 1000
    header = "CODGEO;REG;DEP;LIBGEO;" + ";".join(f"P21_V{j:03d}" for j in range(columns))
    lines = (f"{c};32;62;Commune {c};" + ";".join(f"{v:.3f}" for v in values[i]) for i, c in enumerate(codes))
    path.write_text(header + "\n" + "\n".join(lines) + "\n", encoding="utf-8")


def test_sigkill_while_writing_leaves_the_warehouse_unchanged(tmp_path):
    db = tmp_path / "entrepot.duckdb"
    codes = [f"{10000 + i:05d}" for i in range(6_000)]
    columns = 50  # 6,000 × 50 = 300,000 value rows: six chunks of CHUNK_ROWS
    assert len(codes) * columns >= 4 * CHUNK_ROWS
    wh = connect(str(db))
    seed_communes(wh, dict.fromkeys(codes, "Commune"), cog=2023)
    seed_communes(wh, COMMUNES, cog=2022)
    run_import(wh, CensusImporter(CENSUS / "base-cc-emploi-pop-active-2020.CSV"))
    before, counts = wh.digest(), wh.row_counts()
    wh.close()
    big = tmp_path / "base-cc-synthetique-2021.CSV"
    big_census_file(big, codes, columns)

    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_IMPORT, str(db), str(big)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", env=env,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in proc.stderr:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    writing = chunk = False
    deadline = time.monotonic() + 180
    try:
        while not (writing and chunk):
            remaining = deadline - time.monotonic()
            assert remaining > 0, "l'import n'a pas atteint l'écriture à temps :\n" + "\n".join(seen)
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            assert line is not None, "l'import s'est terminé avant d'être tué :\n" + "\n".join(seen)
            seen.append(line)
            writing = writing or line.startswith("… Écriture de base-cc-synthetique-2021.CSV dans l'entrepôt")
            chunk = writing and line.startswith("  Écriture de base-cc-synthetique-2021.CSV") and "/300000" in line
        assert proc.poll() is None, "l'import s'est terminé avant d'être tué :\n" + "\n".join(seen)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    done, total = map(int, seen[-1].rsplit(":", 1)[1].strip().split("/"))
    assert CHUNK_ROWS <= done < total  # killed in the middle of the writing
    assert "IMPORT TERMINÉ" not in proc.stdout.read()

    reopened = connect(str(db))
    try:
        assert reopened.row_counts() == counts
        assert reopened.digest() == before
        assert reopened.query("SELECT count(*) FROM source WHERE file_name = ?", (big.name,)) == [(0,)]
    finally:
        reopened.close()
