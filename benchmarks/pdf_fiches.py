"""Benchmark of the Fiche Quartier: one fiche, the batch of every QPV of the PMA, and the same through Typst.

    VIGIE_DATABASE=/tmp/demo.duckdb .venv/bin/python benchmarks/pdf_fiches.py [--processus 2] [--sans-typst]

Prints, for each route: one fiche (first in a fresh process, then warm), the whole batch with a spawn pool
(collection of the figures included), fiches per second, CPU seconds, PDF sizes, and the ratios between the
routes. Wall-clock figures depend on the machine's load: the CPU seconds of the workers are printed too.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vigie import formatting as fmt  # noqa: E402
from vigie.engine.query import Engine  # noqa: E402
from vigie.publish.pdf import fiche_quartier  # noqa: E402
from vigie.publish.pdf.batch import run  # noqa: E402
from vigie.publish.pdf.publications import fiche_jobs, territory_qpv  # noqa: E402
from vigie.settings import database_url  # noqa: E402
from vigie.warehouse import connect  # noqa: E402

ONE = "QN06213M"  # a QPV over two communes: the widest tables


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def size(paths) -> str:
    total = sum(os.path.getsize(p) for p in paths)
    return f"{fmt.number(total / 1024 / max(len(paths), 1), 0)} Kio par fiche"


def _typst_one(args) -> float:
    import pdf_route_typst

    data, path = args
    start = time.perf_counter()
    pdf_route_typst.render(data, path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processus", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--sans-typst", action="store_true")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="vigie-bench-pdf-"))
    wh = connect(database_url(), create=False, read_only=True)
    engine = Engine(wh)
    pma = wh.find_territory("PMA")
    codes = territory_qpv(wh, pma, engine)
    print(f"Machine : {os.cpu_count()} cœurs, charge moyenne {os.getloadavg()[0]:.1f} ; {len(codes)} QPV dans {pma.name}.")

    # ---------------------------------------------------------------- reportlab (product route)
    [one] = fiche_quartier.collect(wh, [ONE], engine)
    start, cpu = time.perf_counter(), own_cpu()
    fiche_quartier.render(one, str(out / "un-froid.pdf"))
    cold = time.perf_counter() - start
    runs = []
    for i in range(5):
        start = time.perf_counter()
        fiche_quartier.render(one, str(out / f"un-{i}.pdf"))
        runs.append(time.perf_counter() - start)
    warm = min(runs)
    cpu_one = (own_cpu() - cpu) / 6
    print(f"reportlab, une fiche ({ONE}) : {fmt.number(cold * 1000, 0)} ms la première (polices), "
          f"{fmt.number(warm * 1000, 0)} ms ensuite ; {fmt.number(cpu_one * 1000, 0)} ms de CPU en moyenne ; {size([out / 'un-0.pdf'])}")

    batch_dir = out / "reportlab"
    start, cpu0, cpu_children0 = time.perf_counter(), own_cpu(), children_cpu()
    jobs = fiche_jobs(wh, codes, batch_dir, engine=engine, wide=pma)
    collected = time.perf_counter() - start
    summary = run(jobs, workers=args.processus)
    total = time.perf_counter() - start
    cpu_batch = own_cpu() - cpu0 + children_cpu() - cpu_children0
    rl_rate = len(summary.done) / total
    print(f"reportlab, lot de {len(jobs)} fiches + classeurs XLSX, {summary.workers} processus (spawn) : {fmt.number(total, 2)} s "
          f"dont {fmt.number(collected, 2)} s de lecture des chiffres ; {fmt.number(rl_rate, 1)} fiches/s ; "
          f"{fmt.number(cpu_batch, 1)} s de CPU ({fmt.number(cpu_batch / len(jobs) * 1000, 0)} ms par fiche, démarrage des "
          f"processus compris) ; {len(summary.failed)} échec(s) ; {size([o.pdf for o in summary.done])}")
    print(f"  → 1 600 QPV au même rythme : {fmt.number(1600 / rl_rate, 0)} s ; objectif 10 fiches/s "
          f"{'atteint' if rl_rate >= 10 else 'non atteint (voir le CPU par fiche et la charge)'}")
    if args.sans_typst:
        return

    # ---------------------------------------------------------------- Typst (comparison route)
    import pdf_route_typst

    start, cpu = time.perf_counter(), own_cpu()
    pdf_route_typst.render(one, str(out / "typst-froid.pdf"))
    t_cold = time.perf_counter() - start
    runs = []
    for i in range(5):
        start = time.perf_counter()
        pdf_route_typst.render(one, str(out / f"typst-{i}.pdf"))
        runs.append(time.perf_counter() - start)
    t_warm = min(runs)
    t_cpu_one = (own_cpu() - cpu) / 6
    print(f"Typst, une fiche : {fmt.number(t_cold * 1000, 0)} ms la première, {fmt.number(t_warm * 1000, 0)} ms ensuite ; "
          f"{fmt.number(t_cpu_one * 1000, 0)} ms de CPU en moyenne (tous fils) ; {size([out / 'typst-0.pdf'])}")
    typst_dir = out / "typst"
    typst_dir.mkdir()
    start, cpu0, cpu_children0 = time.perf_counter(), own_cpu(), children_cpu()
    datas = fiche_quartier.collect(wh, codes, engine, wide=pma)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.processus, mp_context=context) as pool:
        list(pool.map(_typst_one, [(d, str(typst_dir / f"{d.territory.code}.pdf")) for d in datas]))
    t_total = time.perf_counter() - start
    t_cpu_batch = own_cpu() - cpu0 + children_cpu() - cpu_children0
    t_rate = len(datas) / t_total
    print(f"Typst, lot de {len(datas)} fiches (sans classeurs), {args.processus} processus (spawn) : {fmt.number(t_total, 2)} s ; "
          f"{fmt.number(t_rate, 1)} fiches/s ; {fmt.number(t_cpu_batch, 1)} s de CPU ; "
          f"{size(list(typst_dir.glob('*.pdf')))}")
    print(f"Rapports Typst / reportlab : une fiche chaude ×{fmt.number(t_warm / warm, 2)} (temps), "
          f"×{fmt.number(t_cpu_one / cpu_one, 2)} (CPU) ; lot ×{fmt.number(rl_rate / t_rate, 2)} (débit reportlab / Typst)")
    print(f"Fichiers : {out}")
    wh.close()


if __name__ == "__main__":
    main()
