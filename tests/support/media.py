"""Real video for the tests: frames made with Pillow, encoded by the emulator's encoder, and decoded
back with PyAV to count what a player would show."""

from __future__ import annotations

import io


def frames(count: int, size: tuple[int, int] = (32, 24)) -> list:
    from PIL import Image

    return [Image.new("RGB", size, (20 * n % 256, 80, 160)) for n in range(count)]


def mp4(count: int = 3, fps: int = 5, size: tuple[int, int] = (32, 24)) -> bytes:
    from infra.emulators.media import encode_mp4

    return encode_mp4(frames(count, size), fps)


def decoded(data: bytes) -> tuple[int, tuple[int, int], float]:
    """(frames decoded, (width, height), frame rate) of an MP4, as a player reads it."""
    import av

    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        return count, (stream.width, stream.height), float(stream.average_rate or 0)
