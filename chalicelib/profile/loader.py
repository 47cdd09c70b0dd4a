"""Loading profiles: a broken file refuses to load with an error naming the file and the field."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from pydantic import ValidationError

from chalicelib.profile.bounds import unkept_promises
from chalicelib.profile.schema import Profile

PROFILES_DIR = Path(__file__).parent / "profiles"


class ProfileError(Exception):
    """A profile file that cannot be used. The message names the file and the offending field."""


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


def load_profile_file(path: Path) -> Profile:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ProfileError(f"{path}: no such profile file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from exc
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"field '{_field_path(data, err['loc'])}': {err['msg']}" for err in exc.errors())
        raise ProfileError(f"{path}: {problems}") from exc
    if profile.id != path.stem:
        raise ProfileError(f"{path}: field 'id': '{profile.id}' does not match the file name '{path.stem}'")
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


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


@cache
def load_profile(name: str) -> Profile:
    if name not in available_profiles():
        raise ProfileError(f"{PROFILES_DIR / (name + '.toml')}: no such profile; available: {available_profiles()}")
    return load_profile_file(PROFILES_DIR / f"{name}.toml")


def active_profile() -> Profile:
    from chalicelib.settings import get_settings

    return load_profile(get_settings().profile)
