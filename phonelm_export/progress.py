"""Progress reporting for long work: a tqdm bar on stderr, silent when asked or not a TTY in --json mode."""
from __future__ import annotations

import sys
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")


class Progress:
    """A tiny facade so backends never import tqdm directly and tests can pass ``Progress(quiet=True)``."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet

    def iter(self, items: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
        if self.quiet:
            yield from items
            return
        from tqdm import tqdm

        yield from tqdm(items, desc=desc, total=total, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True)

    def bar(self, total: int, desc: str, unit: str = "it"):
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False, disable=self.quiet, dynamic_ncols=True)

    def step(self, message: str) -> None:
        """One line about a phase of work that has no natural counter (lowering, compiling)."""
        if not self.quiet:
            print(f"[phonelm-export] {message}", file=sys.stderr, flush=True)


QUIET = Progress(quiet=True)
ProgressFn = Callable[[str], None]
