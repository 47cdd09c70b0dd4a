"""The erasure plan (DSR-4, PAY-3, DSR-13), derived from the record classes and the active profile the
way the infrastructure is: nothing here names a table, a key prefix or a record class.

Each record class declares its data category and its personal fields. Its fate at erasure follows
from the category's retention kind in the profile: `legal` keeps it detached (personal fields removed,
the owner replaced by a random pseudonym); every other kind deletes it. `detached` is the one
pseudonymizer every kept record goes through.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from chalicelib.domain.ports.rights import RecordKind
from chalicelib.profile.schema import Profile, RetentionKind


class Fate(StrEnum):
    DELETE = "delete"
    DETACH = "detach"


class UndeclaredRecord(ValueError):
    """A record class that does not say what it holds cannot be planned for."""


def fate(profile: Profile, kind: RecordKind) -> Fate:
    if kind.category is None or kind.personal_fields is None:
        raise UndeclaredRecord(f"record class {kind.name} declares no data category or personal fields")
    if profile.has(kind.category) and profile.category(kind.category).retention.kind == RetentionKind.LEGAL:
        return Fate.DETACH
    return Fate.DELETE


def plan(profile: Profile, kinds: Iterable[RecordKind]) -> dict[str, tuple[Fate, tuple[str, ...]]]:
    """Record class name -> (fate, personal fields). A class missing here is not erased, and the
    residual scan, which does not read the plan, reports what it left."""
    return {kind.name: (fate(profile, kind), kind.personal_fields or ()) for kind in kinds}


def detached(
    fields: Mapping[str, Any], personal_fields: Iterable[str], user_id: str, pseudonym: str, email: str | None
) -> dict[str, Any]:
    """A kept record without its person (PAY-3): personal fields dropped, the user id replaced by the
    pseudonym wherever it appears (keys included), the address removed in any spelling."""
    dropped = set(personal_fields) | {"owner_id"}
    address = re.compile(re.escape(email), re.IGNORECASE) if email else None

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            value = value.replace(user_id, pseudonym)
            return address.sub("[erased]", value) if address else value
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        if isinstance(value, set | frozenset):
            return {clean(v) for v in value}
        if isinstance(value, Mapping):
            return {k: clean(v) for k, v in value.items()}
        return value

    kept = {name: clean(value) for name, value in fields.items() if name not in dropped}
    kept["owner_id"] = pseudonym
    return kept
