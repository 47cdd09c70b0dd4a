"""SEC-7: image type by content, not by name; decompression bombs refused before decoding.
CNT-7: accepted images are re-encoded from their pixels."""

from __future__ import annotations

import io

import pytest

from chalicelib.domain.uploads import NOT_AN_IMAGE, CleanImage, ImageFacts, clean_image, inspect_image


def _encoded(fmt: str, size=(10, 4), mode="RGB") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_sec7_png_jpeg_webp_are_read_with_dimensions(fmt):
    assert inspect_image(_encoded(fmt)) == ImageFacts(fmt, 10, 4)


@pytest.mark.parametrize("data", [b"", b"GIF89a....", b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"%PDF-1.7"])
def test_sec7_other_content_is_refused_with_a_reason(data):
    assert isinstance(inspect_image(data), str)


def test_sec7_gif_and_tiff_are_refused_even_though_pillow_reads_them():
    assert inspect_image(_encoded("GIF")) == NOT_AN_IMAGE
    assert inspect_image(_encoded("TIFF")) == NOT_AN_IMAGE


def test_sec7_oversized_pixel_counts_are_refused():
    bomb = _encoded("PNG", size=(8000, 6000), mode="1")  # tiny file, 48 million pixels
    assert len(bomb) < 100_000
    assert "pixels" in inspect_image(bomb)


@pytest.mark.parametrize(
    ("fmt", "mode"),
    [
        ("PNG", "1"),
        ("PNG", "L"),
        ("PNG", "LA"),
        ("PNG", "P"),
        ("PNG", "RGBA"),
        ("PNG", "I;16"),
        ("JPEG", "L"),
        ("JPEG", "CMYK"),
        ("WEBP", "RGBA"),
    ],
)
def test_cnt7_every_pixel_mode_is_re_encoded_in_its_own_format(fmt, mode):
    clean = clean_image(_encoded(fmt, mode=mode))
    assert isinstance(clean, CleanImage)
    assert (clean.image_format, clean.width, clean.height) == (fmt, 10, 4)
    assert inspect_image(clean.data) == ImageFacts(fmt, 10, 4)


def test_cnt7_palette_transparency_survives_re_encoding():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("P", (4, 4), 0).save(buffer, format="PNG", transparency=0)
    with Image.open(io.BytesIO(clean_image(buffer.getvalue()).data)) as image:
        assert image.info.get("transparency") == 0


def test_cnt7_refusals_are_the_content_checks():
    assert clean_image(_encoded("GIF")) == NOT_AN_IMAGE
    assert clean_image(_encoded("PNG", size=(64, 64))[:60]) == "The image is damaged or truncated."
