"""How the export archive keeps memory flat and reads originals concurrently (issue 16, P4, P5).

A zip ends with a central directory listing every entry, and the standard zipfile module holds one
ZipInfo per entry (and a name index) until it writes that directory at close: memory that grows
with the number of files. `SpillingZipFile` keeps the finished entries in a temporary file instead
and reads them back, one at a time, when the directory is written: chosen over splitting the
export into several archives because the person still gets one archive, one link and the layout
DSR-2 promises, and the spill costs local disk (about 150 bytes per entry), not memory.

`fetched_ahead` reads the originals a few at a time on worker threads, in order, so the archive is
written while the next objects are on their way; at most `window` objects are held at once.
"""

from __future__ import annotations

import io
import pickle
import tempfile
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, TypeVar

T = TypeVar("T")
R = TypeVar("R")
FETCH_WINDOW = 8


class _SpilledEntries:
    """zipfile's list of written entries, kept in a temporary file: append, count, iterate."""

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115  (closed with the archive)
        self._count = 0

    def append(self, info: zipfile.ZipInfo) -> None:
        pickle.dump(info, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[zipfile.ZipInfo]:
        self._file.seek(0)
        for _ in range(self._count):
            yield pickle.load(self._file)  # noqa: S301  (our own temporary file, written above)
        self._file.seek(0, 2)

    def close(self) -> None:
        self._file.close()


class _NoNameIndex(dict):
    """zipfile's name index, not kept: it only warns on duplicate names, and the export's names are
    unique by construction (one per record kind, one per object key)."""

    def __setitem__(self, name: str, info: zipfile.ZipInfo) -> None:
        return None


class SpillingZipFile(zipfile.ZipFile):
    """A write-only ZipFile whose per-entry bookkeeping waits on disk, not in memory (P4)."""

    def __init__(self, file: IO[bytes], *, compression: int = zipfile.ZIP_STORED) -> None:
        super().__init__(file, "w", compression=compression)
        self.filelist = _SpilledEntries()  # type: ignore[assignment]
        self.NameToInfo = _NoNameIndex()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.filelist.close()  # type: ignore[attr-defined]


class ArchivePage(SpillingZipFile):
    """One page of an archive written across task invocations (P3): its entries go into the ongoing
    stream at the stream's absolute offset (`tell()`), and at close its central directory records go
    to `directory` instead of the stream. The last invocation writes every page's records after
    the last entry, then `write_end`: one valid zip, however many invocations wrote it."""

    MAX_ENTRIES = zipfile.ZIP_FILECOUNT_LIMIT  # a page's records end in a plain 22-byte end record

    def __init__(self, stream: IO[bytes], *, compression: int = zipfile.ZIP_STORED) -> None:
        super().__init__(stream, compression=compression)
        self.directory = b""
        self.entries = 0

    def _write_end_record(self) -> None:
        if len(self.filelist) > self.MAX_ENTRIES:
            raise ValueError("a page holds more entries than one end record counts; lower the page size")
        stream, start = self.fp, self.start_dir
        self.fp, self.start_dir = io.BytesIO(), 0  # the page's records alone, offsets kept absolute
        try:
            super()._write_end_record()
            written = self.fp.getvalue()
        finally:
            self.fp, self.start_dir = stream, start
        self.directory = written[: -zipfile.sizeEndCentDir]
        self.entries = len(self.filelist)


class _Counted:
    """An entry list of a known length whose records were written already (write_end)."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[zipfile.ZipInfo]:
        return iter(())


def write_end(stream: IO[bytes], *, entries: int, directory_at: int) -> None:
    """The end records of an archive whose central directory (`entries` records) was written from
    `directory_at` up to the stream's position: zipfile's own logic, ZIP64 records included."""
    ending = zipfile.ZipFile(stream, "w")
    ending.filelist = _Counted(entries)  # type: ignore[assignment]
    ending.start_dir = directory_at
    ending._didModify = True
    ending.close()


def fetched_ahead(
    items: Iterable[T], fetch: Callable[[T], bytes], window: int = FETCH_WINDOW
) -> Iterator[tuple[T, bytes]]:
    """(item, fetch(item)) in the order of `items`, with up to `window` fetches running ahead (P5)."""
    pending: deque[tuple[T, Future[R]]] = deque()
    with ThreadPoolExecutor(max_workers=window, thread_name_prefix="fetch") as pool:
        try:
            for item in items:
                pending.append((item, pool.submit(fetch, item)))
                if len(pending) >= window:
                    first, future = pending.popleft()
                    yield first, future.result()
            while pending:
                first, future = pending.popleft()
                yield first, future.result()
        finally:
            for _, future in pending:
                future.cancel()
