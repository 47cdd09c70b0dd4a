"""Loading profiles at run time: the active one is imported from its compiled module.

The TOML files are the source; `chalicelib/profile/compile.py` validates them and writes
`compiled/<name>.py` at build time, so the first request of a cold Lambda neither parses TOML nor
imports pydantic. A broken profile refuses to compile, naming the file and the field.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.profile.schema import Profile

PROFILES_DIR = Path(__file__).parent / "profiles"
COMPILED_DIR = Path(__file__).parent / "compiled"


class ProfileError(Exception):
    """A profile file that cannot be used. The message names the file and the offending field."""


def available_profiles() -> list[str]:
    return sorted(p.stem for p in COMPILED_DIR.glob("*.py") if p.stem != "__init__")


@cache
def load_profile(name: str) -> Profile:
    if not (COMPILED_DIR / f"{name}.py").exists():
        raise ProfileError(f"{PROFILES_DIR / (name + '.toml')}: no such profile; available: {available_profiles()}")
    return importlib.import_module(f"chalicelib.profile.compiled.{name}").PROFILE


def active_profile() -> Profile:
    from chalicelib.settings import get_settings

    return load_profile(get_settings().profile)
