"""Counts what each workflow task invocation reads and writes through the PersonalData port (P3)."""

from __future__ import annotations

from collections import Counter
from typing import Any

PAGED = ("owned_page", "subject_page", "objects_page")
WRITES = ("delete_items", "put_items", "delete_objects")
UNBOUNDED = ("owned_items", "owned_objects", "scan_items")  # whole walks: no task may use them


class CountingPersonalData:
    """Wraps a PersonalData: per task invocation, the items or keys read (each page's `read`) and
    the items written or deleted; `invocations` keeps (task, read, written) for each."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.invocations: list[tuple[str, int, int]] = []
        self.unbounded: Counter[str] = Counter()

    def start(self, task: str) -> None:
        self.invocations.append((task, 0, 0))

    def _add(self, read: int = 0, written: int = 0) -> None:
        task, r, w = self.invocations[-1]
        self.invocations[-1] = (task, r + read, w + written)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if name in PAGED:

            def paged(*args: Any, **kwargs: Any) -> Any:
                page = target(*args, **kwargs)
                self._add(read=page.read)
                return page

            return paged
        if name in WRITES:

            def write(first: Any, *rest: Any) -> int:
                things = list(rest[0] if rest else first)
                self._add(written=len(things))
                return target(*((first, things) if rest else (things,)))

            return write
        if name in UNBOUNDED:
            self.unbounded[name] += 1
        return target

    def most(self, prefix: str = "") -> tuple[int, int]:
        """The most read and the most written by one invocation of the tasks named `prefix...`."""
        chosen = [(r, w) for task, r, w in self.invocations if task.startswith(prefix)]
        return max(r for r, _ in chosen), max(w for _, w in chosen)


def every_page(page_of: Any, limit: int = 1000) -> list[Any]:
    """Everything a paged walk yields, page after page: `page_of(cursor, limit)`."""
    found, cursor = [], None
    while True:
        page = page_of(cursor, limit)
        found.extend(page.items)
        if page.cursor is None:
            return found
        cursor = page.cursor


def owned_items(store: Any, user_id: str) -> list[Any]:
    """Every item the person owns, through the paged port the workflows use."""
    return every_page(lambda cursor, limit: store.owned_page(user_id, cursor, limit))


def owned_objects(store: Any, user_id: str, skip: Any = ()) -> list[Any]:
    return every_page(lambda cursor, limit: store.objects_page(user_id, cursor, limit, skip=skip))


def world_with_generations(count: int, user_id: str = "bench") -> tuple[Any, CountingPersonalData]:
    """A Kaleipix world on the fakes whose one person owns `count` generated images (record and
    file each), and a counter around its personal data, as the benches' N-item runs need."""
    from chalicelib.profile.loader import load_profile
    from tests.fakes.rights import rights_world

    world = rights_world(load_profile("kaleipix"))
    world.users.add(user_id, f"{user_id}@example.org")
    for index in range(count):
        gen_id = f"{index:06d}"
        job = {"pk": f"GEN#{gen_id}", "sk": "JOB", "owner_id": user_id, "gen_id": gen_id}
        world.personal.add_item("content", job)
        world.personal.objects[("content", f"generated/{user_id}/{gen_id}")] = b"png"
    return world, CountingPersonalData(world.personal)
