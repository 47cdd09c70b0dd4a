"""Bounded work per task invocation (issue 16, P3): a workflow step that walks a person's data does
one page per invocation and the state machine's Choice state invokes it again while `more` is true.

Each invocation reads at most `limit` items or keys (a page's `read`) from one or more sources walked
in order, acts on what it read, and returns `{"page": n + 1, "more": ..., <counts>}`. The store
cursors hold personal keys, so they are kept beside the run (its `cursors`: page n's and page
n + 1's) and the workflow history carries only page numbers and counts (DSR-13). A retried
invocation of page n reads page n's cursor again: every page is idempotent like the steps were.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any, TypeVar

from chalicelib.domain.ports.rights import Page

T = TypeVar("T")
Source = Callable[[str | None, int], Page[Any]]
Cursors = Mapping[str, Mapping[str, str | None]]


@dataclass(frozen=True, slots=True)
class Position:
    """Which page this invocation does, from the step's own previous result in the workflow state."""

    number: int
    prior: Mapping[str, Any]  # the step's previous result: a page before, or an earlier pass

    @classmethod
    def of(cls, event: Mapping[str, Any], path: str) -> Position:
        prior = event.get(path) or {}
        return cls(int(prior.get("page", 0)) if prior.get("more") else 0, prior)

    @property
    def continuing(self) -> bool:
        return self.number > 0

    def total(self, name: str, add: int) -> int:
        """A count summed over the step's pages and passes."""
        return int(self.prior.get(name, 0)) + add

    def result(self, page: Page[Any], **counts: Any) -> dict[str, Any]:
        return {"page": self.number + 1, "more": page.cursor is not None, **counts}


def walk(sources: Sequence[Source], cursor: str | None, limit: int) -> Page[Any]:
    """One page across `sources` in order: at most `limit` read in all; the cursor says which source
    and where in it the next page starts."""
    at = json.loads(cursor) if cursor else {"source": 0, "cursor": None}
    index, inner = int(at["source"]), at["cursor"]
    items: list[Any] = []
    read = 0
    while index < len(sources) and read < limit:
        page = sources[index](inner, limit - read)
        items.extend(page.items)
        read += page.read
        if page.cursor is None:
            index, inner = index + 1, None
        elif page.read == 0 and page.cursor == inner:
            raise RuntimeError(f"source {index} made no progress")  # never loop on the spot
        else:
            inner = page.cursor
    more = index < len(sources)
    return Page(tuple(items), read, json.dumps({"source": index, "cursor": inner}) if more else None)


def cursor_at(position: Position, cursors: Cursors, step: str) -> str | None:
    """Where page `position.number` of `step` starts (None: at the beginning)."""
    return None if position.number == 0 else cursors[step][str(position.number)]


def keep_next(
    position: Position, cursors: Cursors, step: str, next_cursor: str | None, keep: Callable[[dict[str, Any]], None]
) -> None:
    """Keep where the page after this one starts, and this page's own start for a retry of it."""
    if next_cursor is not None:
        pages = {str(position.number): cursor_at(position, cursors, step), str(position.number + 1): next_cursor}
        keep({**cursors, step: pages})


def next_page(
    position: Position,
    cursors: Cursors,
    step: str,
    sources: Sequence[Source],
    limit: int,
    keep: Callable[[dict[str, Any]], None],
) -> Page[Any]:
    """Page `position.number` of `step`; the cursor of the page after it is kept before returning."""
    page = walk(sources, cursor_at(position, cursors, step), limit)
    keep_next(position, cursors, step, page.cursor, keep)
    return page


def side_by_side(
    sources: Sequence[Source], cursor: str | None, limit: int, background: Executor
) -> tuple[list[Future[Page[Any]]], Callable[[list[Page[Any]]], str | None]]:
    """One page from each unfinished source at once, sharing `limit` between them (all of it to the
    last one left), each read on `background` so the caller works on the first while the others
    arrive. Returns the pages to come and how to make the next cursor from them."""
    at = json.loads(cursor) if cursor else {"cursors": [None] * len(sources), "over": []}
    active = [index for index in range(len(sources)) if index not in at["over"]]
    share = limit // max(1, len(active))
    futures = [background.submit(sources[index], at["cursors"][index], share) for index in active]

    def following(pages: list[Page[Any]]) -> str | None:
        cursors, over = list(at["cursors"]), list(at["over"])
        for index, page in zip(active, pages, strict=True):
            cursors[index] = page.cursor
            if page.cursor is None:
                over.append(index)
        return json.dumps({"cursors": cursors, "over": sorted(over)}) if len(over) < len(sources) else None

    return futures, following
