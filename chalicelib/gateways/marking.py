"""AI-generated marking (GEN-4, EU AI Act Art. 50(2)): a signed C2PA manifest embedded in each image
and video the service stores or delivers.

The manifest has one `c2pa.created` action whose digital source type is IPTC's
`trainedAlgorithmicMedia`, with the model as the software agent and the provider named; it carries
no title, account, prompt or any other personal data. The signing chain and key come from Secrets
Manager (`c2pa-signing-chain`, `c2pa-signing-key`; ES256). c2pa is imported on first use, never at cold start.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from chalicelib import errors
from chalicelib.domain.ports.content import Provenance

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
MARKABLE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "video/mp4"})


def manifest(provenance: Provenance) -> dict:
    return {
        "claim_generator_info": [{"name": "Pixelkeep"}],
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": DIGITAL_SOURCE_TYPE,
                            "softwareAgent": {"name": provenance.model},
                            "parameters": {"provider": provenance.provider},
                        }
                    ]
                },
            }
        ],
    }


class C2paMarker:
    def __init__(self, *, chain: Callable[[], str], key: Callable[[], str]) -> None:
        self._chain = chain
        self._key = key

    def mark(self, data: bytes, content_type: str, provenance: Provenance) -> bytes:
        if content_type not in MARKABLE_TYPES:
            raise errors.UpstreamUnavailable("This kind of result cannot be marked as AI-generated.")
        import c2pa

        try:
            info = c2pa.C2paSignerInfo(b"es256", self._chain().encode(), self._key().encode(), None)
            with c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest(provenance)) as builder:
                marked = io.BytesIO()
                builder.sign(signer, content_type, io.BytesIO(data), marked)
        except c2pa.C2paError as exc:
            raise errors.UpstreamUnavailable("The result could not be marked as AI-generated.") from exc
        return marked.getvalue()
