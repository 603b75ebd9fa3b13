"""A progress bar with throughput and ETA (rich), silent when stderr is not a terminal."""
from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterator


@contextlib.contextmanager
def progress(total: float | None, description: str, unit: str = "B", enabled: bool | None = None) -> Iterator[Callable[[float], None]]:
    """Yield ``advance(n)``; shows bytes (or items) done, rate and time remaining."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield lambda n: None
        return
    from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeRemainingColumn, TransferSpeedColumn)

    done_col = DownloadColumn() if unit == "B" else MofNCompleteColumn()
    cols = [TextColumn("{task.description}"), BarColumn(), done_col]
    if unit == "B":
        cols.append(TransferSpeedColumn())
    cols.append(TimeRemainingColumn())
    with Progress(*cols, transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
