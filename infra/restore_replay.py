"""`python -m infra.restore_replay --restored-to <ISO time> [--table accounts=<restored table name> ...]`

The step between restoring a table from point-in-time recovery and letting it serve (DSR-13): every
erasure since the restore point (read from the live requests table) is applied again to the restored
tables. Tables not named are replayed in place. Prints the counts. README, "Restoring a backup".
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from datetime import datetime
from typing import Any

from chalicelib.store import layout


def replay_restored(restored_to: datetime, tables: dict[str, str]) -> dict[str, Any]:
    """Erase again, in the restored tables (logical -> physical name), everyone erased since then."""
    import boto3

    from chalicelib import wiring
    from chalicelib.domain.rights import restore
    from chalicelib.settings import get_settings
    from chalicelib.store.personal_data import PersonalDataStore

    settings = get_settings()
    context = wiring.rights_service().context
    restored = PersonalDataStore(
        dynamodb=boto3.client("dynamodb", region_name=settings.region),
        s3=boto3.client("s3", region_name=settings.region),
        settings=settings,
        tables=tables,
    )
    erased = restore.erased_since(context, restored_to)
    counts = restore.replay(dataclasses.replace(context, personal=restored), erased, tables or layout.TABLES)
    return {"erased_since": len(erased), **counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--restored-to", required=True, type=datetime.fromisoformat, help="the restore point")
    parser.add_argument("--table", action="append", default=[], help="logical=physical name of a restored table")
    arguments = parser.parse_args()
    tables = dict(pair.split("=", 1) for pair in arguments.table)
    print(json.dumps(replay_restored(arguments.restored_to, tables)))


if __name__ == "__main__":
    main()
