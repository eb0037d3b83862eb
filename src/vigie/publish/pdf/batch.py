"""Publications in batch: figures collected once in the parent, PDFs and data packs rendered by a pool of
worker processes (spawn start method: a forked DuckDB connection or Typst runtime is not safe to share), with a
progress bar and a summary. A publication that fails is reported with its French reason; the others go on.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from vigie import formatting as fmt
from vigie.progress import Reporter, Silent


@dataclass
class Job:
    """One publication to make: `kind` names the renderer (see `RENDERERS`), `data` is its collected data."""

    key: str
    kind: str
    data: object
    pdf: str
    xlsx: str | None


@dataclass
class Outcome:
    key: str
    ok: bool
    pdf: str | None = None
    xlsx: str | None = None
    pages: int = 0
    seconds: float = 0.0
    error: str | None = None


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    collect_seconds: float = 0.0
    workers: int = 1

    @property
    def done(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.ok]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def text(self) -> str:
        rate = len(self.done) / self.seconds if self.seconds else 0.0
        lines = [f"{fmt.number(len(self.done))} publication(s) produite(s), {fmt.number(len(self.failed))} en échec, "
                 f"en {fmt.number(self.seconds, 1)} s ({fmt.number(rate, 1)} par seconde, "
                 f"{fmt.number(self.workers)} processus)."]
        for o in self.failed:
            lines.append(f"  échec {o.key} : {o.error}")
        return "\n".join(lines)


def _render(kind: str, data, pdf: str, xlsx: str | None) -> int:
    if kind == "fiche_quartier":
        from vigie.publish.pdf import fiche_quartier as module
    elif kind == "tableau_de_bord":
        from vigie.publish.pdf import tableau_de_bord as module
    else:  # pragma: no cover - a programming error
        raise ValueError(kind)
    pages = module.render(data, pdf)
    if xlsx:
        from vigie.publish.pdf import datapack

        datapack.write(xlsx, Path(pdf).stem, module.records(data))
    return pages


def run_one(job: Job) -> Outcome:
    """Make one publication; never raises (the error becomes the outcome's French message)."""
    start = time.perf_counter()
    try:
        pages = _render(job.kind, job.data, job.pdf, job.xlsx)
    except Exception as exc:  # one failure must not stop the batch
        message = getattr(exc, "message", None) or f"{type(exc).__name__} : {exc}"
        for path in (job.pdf, job.xlsx):
            if path and os.path.exists(path):
                os.remove(path)
        return Outcome(job.key, False, error=message, seconds=time.perf_counter() - start)
    return Outcome(job.key, True, job.pdf, job.xlsx, pages, time.perf_counter() - start)


def _warm() -> None:
    """Worker initialiser: import the renderers and load the fonts once per process."""
    from vigie.publish.pdf import fiche_quartier, fonts, tableau_de_bord  # noqa: F401

    fonts.register()


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def run(jobs: list[Job], *, workers: int | None = None, report: Reporter | None = None, label: str = "Publications",
        on_done: Callable[[Outcome], None] | None = None) -> Summary:
    """Make every job, `workers` processes at a time (1 = in this process); returns the summary."""
    report = report or Silent()
    workers = default_workers() if workers is None else max(1, workers)
    workers = min(workers, max(len(jobs), 1))
    summary = Summary(workers=workers)
    start = time.perf_counter()
    report.step(label, total=len(jobs))
    if workers == 1 or len(jobs) <= 1:
        for job in jobs:
            outcome = run_one(job)
            summary.outcomes.append(outcome)
            report.advance()
            if on_done:
                on_done(outcome)
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_warm) as pool:
            futures = {pool.submit(run_one, job): job for job in jobs}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    outcome = future.result()
                except Exception as exc:  # a worker that died (memory, signal): the others go on
                    outcome = Outcome(job.key, False, error=f"processus de rendu interrompu ({type(exc).__name__})")
                summary.outcomes.append(outcome)
                report.advance()
                if on_done:
                    on_done(outcome)
    summary.outcomes.sort(key=lambda o: o.key)
    summary.seconds = time.perf_counter() - start
    return summary
