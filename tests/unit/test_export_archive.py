"""The export archive's mechanics (issue 16): flat memory (P4) and originals read ahead (P5), for
archives that stay valid, complete and in order (DSR-1, DSR-2)."""

from __future__ import annotations

import io
import threading
import tracemalloc
import zipfile

from chalicelib.domain.rights.archive import SpillingZipFile, fetched_ahead


class _Discard(io.RawIOBase):
    """A non-seekable sink, like the multipart upload the export writes into."""

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        return len(data)


def _write(archive: zipfile.ZipFile, start: int, stop: int) -> None:
    for index in range(start, stop):
        info = zipfile.ZipInfo(f"files/generated/{index:06d}.png", date_time=(2026, 1, 1, 0, 0, 0))
        with archive.open(info, "w") as target:
            target.write(b"x" * 64)


def test_dsr2_a_spilled_archive_is_a_complete_valid_zip():
    buffer = io.BytesIO()
    with SpillingZipFile(buffer, compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", "{}")
        _write(archive, 0, 300)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as reread:
        assert reread.testzip() is None
        names = reread.namelist()
        assert names == ["manifest.json", *(f"files/generated/{i:06d}.png" for i in range(300))]
        assert reread.read("files/generated/000299.png") == b"x" * 64


def test_p4_entries_written_hold_no_memory_until_the_directory_is_written():
    """zipfile alone keeps ~0.5 KB per entry until close; the spilled archive keeps none."""

    def held_per_entry(make) -> float:
        archive = make(_Discard())
        _write(archive, 0, 200)  # warm: buffers and caches settle
        tracemalloc.start()
        before, _ = tracemalloc.get_traced_memory()
        _write(archive, 200, 2200)
        after, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        archive.close()
        return (after - before) / 2000

    plain = held_per_entry(lambda out: zipfile.ZipFile(out, "w"))
    spilled = held_per_entry(SpillingZipFile)
    assert plain > 200, plain  # the measurement sees zipfile's own bookkeeping
    assert spilled < 10, spilled


def test_p5_originals_are_fetched_concurrently_in_order_within_the_window():
    in_flight, most, lock = 0, 0, threading.Lock()
    two_at_once = threading.Barrier(2, timeout=10)

    def fetch(item: int) -> int:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        if item < 2:
            two_at_once.wait()  # the first two fetches only return once both are running
        with lock:
            in_flight -= 1
        return item * 10

    fetched = list(fetched_ahead(range(50), fetch, window=4))
    assert fetched == [(i, i * 10) for i in range(50)]
    assert 2 <= most <= 4
