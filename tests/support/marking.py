"""Reading an AI-generated marking back (GEN-4) the way any C2PA validator does, trusting the local CA."""

from __future__ import annotations

import io
import json

# IPTC's term for media made by a trained model (written out here, not imported from the code under test)
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def read_marking(data: bytes, content_type: str) -> dict:
    """The active manifest of a marked file, after checking that it validates against the local
    signing CA (state "Trusted": signature, hashes over the content and the chain all good)."""
    import c2pa

    from infra.local_signing import local_signing

    settings = {"verify": {"verify_trust": True}, "trust": {"trust_anchors": local_signing()[2]}}
    with c2pa.Reader(content_type, io.BytesIO(data), context=c2pa.Context.from_dict(settings)) as reader:
        state, results = reader.get_validation_state(), reader.get_validation_results()
        active = reader.get_active_manifest()
        report = json.loads(reader.json())
    failures = (results or {}).get("activeManifest", {}).get("failure", [])
    assert not failures, failures
    assert state == "Trusted", state
    active["_report"] = report
    return active


def created_action(active: dict) -> dict:
    [actions] = [a["data"]["actions"] for a in active["assertions"] if a["label"] == "c2pa.actions.v2"]
    [created] = [a for a in actions if a["action"] == "c2pa.created"]
    return created


def assert_marked_ai_generated(data: bytes, content_type: str, *, model: str, provider: str, absent=()) -> None:
    """GEN-4: the file validates, says trainedAlgorithmicMedia, names the model and the provider,
    and none of `absent` (the person's identifiers) appears anywhere in the manifest store."""
    active = read_marking(data, content_type)
    created = created_action(active)
    assert created["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert created["softwareAgent"]["name"] == model
    assert created["parameters"]["provider"] == provider
    dumped = json.dumps(active["_report"])
    for value in absent:
        assert value not in dumped
