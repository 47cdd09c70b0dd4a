"""Replaying erasures over a restored backup (DSR-13).

Point-in-time recovery keeps every table for the profile's backup period, so a restore would bring
back people erased since the restore point. Each erasure leaves only `ErasedSubject`: a keyed hash
of the user id and the time, kept exactly that long. Before a restored table serves anyone, the
replay reads it whole and applies the same plan to every item whose owner hashes to an erased
subject: deleted, or detached under a fresh pseudonym (the one an erasure used is not kept).
Counters keyed by such a hash go too, and so does every item whose TTL has passed: the live table
has forgotten it, and short-lived items keyed by an address's keyed hash (login codes, rate
counters) have no owner to recognise. README, "Restoring a backup", gives the steps.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from chalicelib import clock
from chalicelib.domain.ports.accounts import erased_hash, user_hash
from chalicelib.domain.ports.rights import ErasedSubject
from chalicelib.domain.rights import erasure_plan
from chalicelib.domain.rights.context import RightsContext
from chalicelib.domain.rights.erasure_plan import Fate


def erased_since(ctx: RightsContext, restored_to: datetime) -> list[ErasedSubject]:
    """The erasures a table restored to `restored_to` would undo; read them from the live table."""
    return ctx.rights.erased_since(restored_to)


def replay(ctx: RightsContext, erased: Iterable[ErasedSubject], tables: Iterable[str]) -> dict[str, int]:
    """Erase again, in the restored `tables`, everyone in `erased`. Returns counts by fate."""
    key = ctx.subject_key()
    hashes = {e.subject_hash for e in erased}
    erased_ids: dict[str, str] = {}  # a counter keyed by a user hash belongs to the same person
    fates = erasure_plan.plan(ctx.profile, ctx.personal.record_kinds())
    pseudonyms: dict[str, str] = {}
    counts: Counter[str] = Counter()
    now = int(clock.now().timestamp())
    for table in tables:
        doomed: list[tuple[str, str]] = []
        for item in list(ctx.personal.scan_items(table)):
            owner = item.fields.get("owner_id") or item.fields.get("user_id")
            if (item.fields.get("expires_at") or now + 1) <= now:
                doomed.append(item.key)
                counts["expired"] += 1
                continue
            if isinstance(owner, str) and erased_hash(key, owner) in hashes:
                erased_ids[user_hash(key, owner)] = owner
            elif not any(part in erased_ids for part in item.key[0].split("#")):
                continue
            fate, personal = fates.get(item.record or "", (Fate.DELETE, ()))
            if fate is Fate.DELETE or not isinstance(owner, str):
                doomed.append(item.key)
                counts["deleted"] += 1
                continue
            pseudonym = pseudonyms.setdefault(owner, f"erased-{uuid.uuid4().hex}")
            kept = erasure_plan.detached(item.fields, personal, owner, pseudonym, None)
            ctx.personal.put_items(table, [kept])
            if (kept["pk"], kept["sk"]) != item.key:
                doomed.append(item.key)
            counts["detached"] += 1
        ctx.personal.delete_items(table, doomed)
    return dict(counts)
