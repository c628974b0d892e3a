"""Progress of a long batch: solve the rows in blocks and report after
each block, with a tqdm bar when tqdm is installed, else a plain line on
stderr (tqdm is optional and imported only here, only when asked for)."""
from __future__ import annotations

import sys
import time
from typing import Callable

# Rows per block: 2% of the batch (50 updates of the bar), but at least
# this many per thread (a quarter to half a second of work on an idle
# core), so that the start and the uneven end of each block's parallel
# region (threads that finish their share wait for the others, and on a
# busy machine for a preempted one) cost well under 2%.
MIN_ROWS_PER_THREAD = 16384
BLOCKS = 50


def block_rows(k: int, threads: int) -> int:
    """Rows per block for a batch of k problems on ``threads`` threads."""
    return max(1, -(-k // BLOCKS), MIN_ROWS_PER_THREAD * threads)


class PlainBar:
    """tqdm's update/close, printed as one line rewritten in place."""

    def __init__(self, total: int, desc: str, stream=None):
        self.total, self.desc, self.done = total, desc, 0
        self.stream = sys.stderr if stream is None else stream
        self.start = time.perf_counter()

    def update(self, count: int) -> None:
        self.done += count
        elapsed = time.perf_counter() - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        self.stream.write(f"\r{self.desc}: {self.done}/{self.total} "
                          f"({100 * self.done // max(self.total, 1)}%), "
                          f"{rate:.0f} fits/s")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def progress_bar(total: int, desc: str):
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return PlainBar(total, desc)
    return tqdm(total=total, desc=desc, unit="fit")


def solve_in_blocks(solve_rows: Callable[[int, int], None], k: int,
                    threads: int, desc: str = "minimize_batch") -> None:
    """Call ``solve_rows(start, stop)`` over consecutive blocks of the k
    rows, advancing a progress bar after each."""
    step = block_rows(k, threads)
    bar = progress_bar(k, desc)
    try:
        for start in range(0, k, step):
            stop = min(k, start + step)
            solve_rows(start, stop)
            bar.update(stop - start)
    finally:
        bar.close()
