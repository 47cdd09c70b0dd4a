"""Build step: validate each profile's TOML and write it out as a plain Python module.

`python -m chalicelib.profile.compile` (run by `make profiles`, and so by `make run`, `make test`
and `make synth`) writes `chalicelib/profile/compiled/<name>.py`. A cold Lambda then imports its
profile as ready-made dataclasses: no TOML parsing and no pydantic (issue 16, P1). A broken profile
refuses to compile with an error naming the file and the field; the unit suite checks that every
compiled module is what compiling its TOML gives today.
"""

from __future__ import annotations

import pprint
import sys
import tomllib
from dataclasses import fields, is_dataclass, replace
from datetime import date
from enum import Enum
from pathlib import Path

from chalicelib.profile.bounds import unkept_promises
from chalicelib.profile.changes import classify
from chalicelib.profile.loader import COMPILED_DIR, PROFILES_DIR, ProfileError
from chalicelib.profile.schema import PolicyRelease, Profile

HISTORY_DIR_NAME = "history"  # profiles/history/<id>/<version>.toml: earlier versions as published


def _field_path(data: object, location: tuple) -> str:
    """`categories[uploads].retention.kind`: list entries are named by their id where they have one."""
    parts: list[str] = []
    node = data
    for part in location:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
            label = node.get("id") or node.get("name") if isinstance(node, dict) else None
            parts[-1:] = [f"{parts[-1] if parts else ''}[{label if isinstance(label, str) else part}]"]
            continue
        node = node.get(part) if isinstance(node, dict) else None
        parts.append(str(part))
    return ".".join(parts) or "(top level)"


def _location(error: dict) -> tuple:
    """Where pydantic saw the error, plus the field a `FieldError` check names."""
    named = getattr((error.get("ctx") or {}).get("error"), "field", None)
    return (*error["loc"], named) if named else tuple(error["loc"])


def load_profile_file(path: Path, *, profile_id: str | None = None) -> Profile:
    """Read and validate one TOML profile (build time: this imports pydantic). A snapshot of an
    earlier version is named by its version and belongs to `profile_id`."""
    from pydantic import TypeAdapter, ValidationError

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ProfileError(f"{path}: no such profile file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from exc
    if "history" in data:
        raise ProfileError(f"{path}: field 'history': written by the compiler from profiles/history/, not typed")
    try:
        profile = TypeAdapter(Profile).validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(f"field '{_field_path(data, _location(err))}': {err['msg']}" for err in exc.errors())
        raise ProfileError(f"{path}: {problems}") from exc
    if profile.id != (profile_id or path.stem):
        raise ProfileError(f"{path}: field 'id': '{profile.id}' does not match '{profile_id or path.stem}'")
    if profile_id and profile.policy.version != path.stem:
        raise ProfileError(f"{path}: field 'policy.version': a snapshot is named by its version, '{path.stem}'")
    unkept = unkept_promises(profile)
    if unkept:
        raise ProfileError(
            f"{path}: "
            + "; ".join(
                f"field 'categories[{category.value}].retention.deleted_within_hours': promises {promised} hours, "
                f"but its mechanisms delete it only within {bound} hours (DynamoDB TTL lag, S3 lifecycle "
                "rounding) and no explicit deletion on completion keeps the promise (OPS-9)"
                for category, promised, bound in unkept
            )
        )
    return profile


def load_with_history(path: Path) -> Profile:
    """The profile with its dated versions (OPS-2): each earlier version's snapshot
    (`profiles/history/<id>/<version>.toml`, kept as it was published) and the current TOML, each
    classified against the version before it. Nothing here runs at request time."""
    current = load_profile_file(path)
    snapshots = [
        load_profile_file(snapshot, profile_id=current.id)
        for snapshot in sorted((path.parent / HISTORY_DIR_NAME / current.id).glob("*.toml"))
    ]
    versions = sorted(snapshots, key=lambda p: p.policy.effective) + [current]
    for older, newer in zip(versions, versions[1:], strict=False):
        if newer.policy.effective <= older.policy.effective or newer.policy.version == older.policy.version:
            raise ProfileError(
                f"{path}: field 'policy': version '{newer.policy.version}' ({newer.policy.effective}) must be "
                f"newer than '{older.policy.version}' ({older.policy.effective}) in profiles/history/{current.id}/"
            )
    history = [
        PolicyRelease(
            version=profile.policy.version,
            effective=profile.policy.effective,
            change_notice=list(profile.policy.change_notice),
            changes=classify(versions[index - 1], profile) if index else [],
        )
        for index, profile in enumerate(versions)
    ]
    return replace(current, history=history)


def _source(value: object, indent: str = "") -> str:
    """Python source that rebuilds `value` (profile dataclasses, enums, dates, lists, scalars)."""
    inner = indent + "    "
    if is_dataclass(value):
        args = "".join(f"{inner}{f.name}={_source(getattr(value, f.name), inner)},\n" for f in fields(value))
        return f"{type(value).__name__}(\n{args}{indent})"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + "".join(f"{inner}{_source(item, inner)},\n" for item in value) + f"{indent}]"
    if isinstance(value, Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, date):
        return f"date({value.year}, {value.month}, {value.day})"
    return repr(value)


def _classes(value: object) -> set[str]:
    """The schema classes `value`'s source names, so the module imports exactly those."""
    if is_dataclass(value):
        return {type(value).__name__}.union(*(_classes(getattr(value, f.name)) for f in fields(value)))
    if isinstance(value, list):
        return set().union(*(_classes(item) for item in value))
    return {type(value).__name__} if isinstance(value, Enum) else set()


def module_source(profile: Profile, toml_name: str) -> str:
    names = "".join(f"    {name},\n" for name in sorted(_classes(profile)))
    return (
        f'"""Generated by `python -m chalicelib.profile.compile` from profiles/{toml_name}: do not edit."""\n\n'
        "from datetime import date\n\n"
        f"from chalicelib.profile.schema import (\n{names})\n\n"
        f"PROFILE = {_source(profile)}\n"
    )


CATALOGUE_TOML = Path(__file__).resolve().parent.parent / "billing_catalogue.toml"
CATALOGUE_MODULE = CATALOGUE_TOML.with_suffix(".py")


def catalogue_source() -> str:
    """The billing catalogue as a Python literal: a job's price is read on every submit, and no
    request parses TOML (the catalogue's TOML file stays the source)."""
    data = tomllib.loads(CATALOGUE_TOML.read_text(encoding="utf-8"))
    return (
        f'"""Generated by `python -m chalicelib.profile.compile` from {CATALOGUE_TOML.name}: do not edit."""\n\n'
        f"CATALOGUE = {pprint.pformat(data, width=120, sort_dicts=False)}\n"
    )


def compiled_sources() -> dict[Path, str]:
    """Every compiled module's path and the text compiling its TOML gives now."""
    sources = {
        COMPILED_DIR / f"{path.stem}.py": module_source(load_with_history(path), path.name)
        for path in sorted(PROFILES_DIR.glob("*.toml"))
    }
    sources[CATALOGUE_MODULE] = catalogue_source()
    return sources


def main() -> int:
    try:
        sources = compiled_sources()
    except ProfileError as exc:
        print(exc, file=sys.stderr)
        return 1
    for stale in set(COMPILED_DIR.glob("*.py")) - set(sources) - {COMPILED_DIR / "__init__.py"}:  # a removed profile
        stale.unlink()
    for path, text in sources.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"compiled {path.relative_to(PROFILES_DIR.parent.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
