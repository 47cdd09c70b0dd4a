"""Real media for the embedded model provider, made on the CPU: an MP4 encoded from frames with
PyAV (a development dependency: FFmpeg ships inside its wheel; the Lambda bundle never needs it)."""

from __future__ import annotations

import io


def encode_mp4(frames: list, fps: int) -> bytes:
    """H.264 in an MP4 container, one video frame per PIL image (resized to the first one's even size)."""
    import av

    width, height = (dimension - dimension % 2 for dimension in frames[0].size)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for image in frames:
            frame = av.VideoFrame.from_image(image.convert("RGB").resize((width, height)))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()
