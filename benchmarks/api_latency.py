"""Benchmark: latency of the observatory's JSON API on the demo warehouse, through a real HTTP server.

The app runs in its own process (uvicorn, one worker, as `vigie serve`); a client on the same machine asks, with
keep-alive and `Accept-Encoding: gzip` as a browser does:
- the portrait of every commune, EPCI, QPV and custom territory: once ("cold": built from the warehouse) then
  again ("warm": served from the app's cache of built answers);
- a few other answers the pages use (catalogue, cube of a level, search, comparison, map classes, contours,
  CSV export), each several times.
It prints p50/p95/max in milliseconds and the payload sizes (on the wire, gzip, and decoded).

    .venv/bin/python benchmarks/api_latency.py [--database /tmp/demo.duckdb] [--limit 300]

Without `--database`, the demo warehouse is built first in a temporary directory (about 20 s).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

SERVER = (
    "import sys, uvicorn\n"
    "from vigie.publish.api import create_app\n"
    "uvicorn.run(create_app(sys.argv[1]), host='127.0.0.1', port=int(sys.argv[2]), log_level='warning')\n"
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(database: str, ready_path: str = "/api") -> Iterator[str]:
    """`create_app(database)` served by uvicorn in a child process; yields its base URL once the app has built its
    caches (`prepared` on `/api`), and stops it at the end."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, database, str(port)], env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            if process.poll() is not None:
                raise SystemExit(f"le serveur s'est arrêté (code {process.returncode})")
            try:
                r = httpx.get(base + ready_path, timeout=2)
                if r.status_code == 200 and r.json().get("prepared"):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("le serveur n'a pas démarré en 600 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))]


def summary(label: str, times_ms: list[float], wire: list[int], decoded: list[int]) -> str:
    return (f"{label:<44} n={len(times_ms):>4}  p50 {statistics.median(times_ms):7.1f} ms  "
            f"p95 {percentile(times_ms, 95):7.1f} ms  max {max(times_ms):7.1f} ms  "
            f"size {statistics.median(wire) / 1024:8.1f} KiB gzip / {statistics.median(decoded) / 1024:8.1f} KiB")


def timed(client: httpx.Client, url: str) -> tuple[float, int, int]:
    start = time.perf_counter()
    r = client.get(url)
    elapsed = (time.perf_counter() - start) * 1000
    if r.status_code != 200:
        raise SystemExit(f"{url} : {r.status_code} {r.text[:200]}")
    return elapsed, r.num_bytes_downloaded, len(r.content)


def run(client: httpx.Client, label: str, urls: list[str]) -> str:
    results = [timed(client, u) for u in urls]
    return summary(label, [r[0] for r in results], [r[1] for r in results], [r[2] for r in results])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="entrepôt de démonstration déjà construit (fichier DuckDB)")
    parser.add_argument("--limit", type=int, default=0, help="nombre maximal de portraits (0 : tous)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = args.database
        if database is None:
            from vigie.demo.build import build_demo

            database = str(Path(tmp) / "demo.duckdb")
            start = time.perf_counter()
            build_demo(database)
            print(f"entrepôt de démonstration construit en {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        with serve(database) as base, httpx.Client(base_url=base, headers={"Accept-Encoding": "gzip"}, timeout=60) as client:
            print(f"serveur prêt (caches et géométries des tuiles compris) en {time.perf_counter() - start:.1f} s : {base}")
            territories = []
            for level in ("commune", "epci", "qpv", "pole_metropolitain", "scot", "petr", "departement"):
                rows = client.get("/api/cube", params={"indicator": "population_legale" if level != "qpv" else "population",
                                                      "level": level}).json()["rows"]
                territories += [(level, r["code"]) for r in rows]
            if args.limit:
                territories = territories[: args.limit]
            urls = [f"/api/portrait/{level}/{code}" for level, code in territories]
            print(run(client, "portrait, première demande (à froid)", urls))
            print(run(client, "portrait, demande suivante (cache)", urls))
            print(run(client, "portrait avec référence choisie (à froid)",
                      [f"/api/portrait/commune/{code}?reference=departement:62" for lv, code in territories if lv == "commune"][:200]))
            repeat = 20
            print(run(client, "catalogue", ["/api/catalogue"] * repeat))
            print(run(client, "cube, 887 communes, taux de chômage", ["/api/cube?indicator=taux_chomage&level=commune"] * repeat))
            print(run(client, "recherche « lievin »", ["/api/search?q=lievin"] * repeat))
            print(run(client, "recherche « sain » (préfixe fréquent)", ["/api/search?q=sain"] * repeat))
            print(run(client, "comparaison de 3 territoires (clés)",
                      ["/api/compare?codes=commune:62498,commune:62510,epci:246200364"] * repeat))
            print(run(client, "classes, Jenks, communes (1re fois puis cache)",
                      ["/api/classes?indicator=taux_chomage&level=commune&method=jenks&k=6"] * repeat))
            print(run(client, "classes, quantiles, communes",
                      [f"/api/classes?indicator=part_hlm&level=commune&k={k}" for k in range(2, 12)] * 2))
            print(run(client, "contours GeoJSON des communes", ["/api/geo/commune"] * repeat))
            print(run(client, "export CSV, 887 communes × 3 indicateurs",
                      ["/api/export?indicators=population,taux_chomage,part_hlm&format=csv"] * 5))
            print(run(client, "export XLSX, 887 communes × 3 indicateurs",
                      ["/api/export?indicators=population,taux_chomage,part_hlm&format=xlsx"] * 5))


if __name__ == "__main__":
    main()
