"""GEN-4: the C2PA marker over the real library and the local signing chain."""

from __future__ import annotations

import pytest

from chalicelib import errors
from chalicelib.domain.ports.content import Provenance
from chalicelib.gateways.marking import C2paMarker
from infra.local_secrets import LOCAL_SECRETS
from tests.support.content import image_bytes
from tests.support.marking import assert_marked_ai_generated, read_marking


def marker() -> C2paMarker:
    return C2paMarker(chain=lambda: LOCAL_SECRETS["c2pa-signing-chain"], key=lambda: LOCAL_SECRETS["c2pa-signing-key"])


TYPES = [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]


@pytest.mark.parametrize(("fmt", "content_type"), TYPES)
def test_gen4_every_image_type_is_marked_and_validates(fmt, content_type):
    marked = marker().mark(image_bytes(fmt, (16, 12)), content_type, Provenance("flux-schnell", "fal.ai"))
    assert_marked_ai_generated(marked, content_type, model="flux-schnell", provider="fal.ai")


def test_gen4_a_changed_byte_of_image_data_breaks_the_marking():
    """The manifest binds the content: the read-back check fails once the pixels' bytes change."""
    marked = bytearray(marker().mark(image_bytes("PNG", (16, 12)), "image/png", Provenance("flux-schnell", "fal.ai")))
    pixels = marked.index(b"IDAT") + 6
    marked[pixels] ^= 0xFF
    with pytest.raises(AssertionError, match="dataHash"):
        read_marking(bytes(marked), "image/png")


def test_gen4_an_untrusted_signer_does_not_validate():
    """A chain other than the local CA's is refused by the read-back: the check is not vacuous."""
    chain, key = _other_chain()
    marked = C2paMarker(chain=lambda: chain, key=lambda: key).mark(
        image_bytes("PNG"), "image/png", Provenance("flux-schnell", "fal.ai")
    )
    with pytest.raises(AssertionError):
        read_marking(marked, "image/png")


def test_gen4_unmarkable_types_and_broken_credentials_refuse_rather_than_pass_unmarked():
    with pytest.raises(errors.UpstreamUnavailable):
        marker().mark(b"GIF89a", "image/gif", Provenance("m", "p"))
    broken = C2paMarker(chain=lambda: "not a certificate", key=lambda: LOCAL_SECRETS["c2pa-signing-key"])
    with pytest.raises(errors.UpstreamUnavailable):
        broken.mark(image_bytes("PNG"), "image/png", Provenance("m", "p"))


def _other_chain() -> tuple[str, str]:
    from infra.local_signing import local_signing

    chain, key, _ = local_signing("elsewhere")
    return chain, key
