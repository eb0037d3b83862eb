"""Progress reporting for long work (imports, demo build, batch jobs).

On a terminal: rich progress bars. Elsewhere (CI logs, pipes, tests): plain French lines on stderr, so that
people and test harnesses both see how far the work went.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

_console = Console(stderr=True)


class Reporter:
    """Reports steps of a task. `advance(n)` moves the current bar; `step(text)` starts a new one."""

    def __init__(self, progress: Progress | None):
        self._progress = progress
        self._task = None
        self._plain_total = 0
        self._plain_done = 0
        self._plain_last = 0.0
        self._label = ""

    def step(self, label: str, total: int | None = None) -> None:
        self._label = label
        if self._progress is not None:
            if self._task is not None:
                self._progress.update(self._task, completed=self._progress.tasks[-1].total or 0)
            self._task = self._progress.add_task(label, total=total)
        else:
            self._plain_total, self._plain_done = total or 0, 0
            print(f"… {label}", file=sys.stderr, flush=True)

    def advance(self, n: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)
        else:
            self._plain_done += n
            now = time.monotonic()
            if self._plain_total and now - self._plain_last > 0.5:
                self._plain_last = now
                print(f"  {self._label} : {self._plain_done}/{self._plain_total}", file=sys.stderr, flush=True)

    def info(self, text: str) -> None:
        if self._progress is not None:
            self._progress.console.print(text)
        else:
            print(text, file=sys.stderr, flush=True)


class Silent(Reporter):
    def __init__(self) -> None:
        super().__init__(None)

    def step(self, label: str, total: int | None = None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def info(self, text: str) -> None:
        pass


@contextmanager
def reporter(enabled: bool = True) -> Iterator[Reporter]:
    if not enabled:
        yield Silent()
        return
    if _console.is_terminal:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=_console,
            transient=False,
        ) as progress:
            yield Reporter(progress)
    else:
        yield Reporter(None)
