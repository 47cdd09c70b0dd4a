"""Later versions of the shipped profiles, built the way an operator publishes one (OPS-2): today's
TOML kept as the snapshot under `history/<id>/<version>.toml`, the edited TOML as the current one."""

from __future__ import annotations

import re
from pathlib import Path

from chalicelib.profile.compile import load_with_history
from chalicelib.profile.loader import PROFILES_DIR, load_profile
from chalicelib.profile.schema import Category, Profile

V2 = "2027-01-15"


def consent_category(profile: Profile) -> Category:
    """A category the profile does not list yet, to add in a later version on consent."""
    return next(c for c in (Category.MARKETING, Category.CONTACT_MESSAGES, Category.CHARACTERS) if not profile.has(c))


def new_consent_category_text(category: Category) -> str:
    return (
        f'\n[[categories]]\nid = "{category.value}"\ntitle = "Newsletter"\nfields = ["email address"]\n'
        'purposes = ["News about the service"]\nlegal_basis = "consent"\n'
        'retention = { kind = "until_consent_withdrawn" }\nsource = "We may send you news if you agree."\n'
    )


def later_version(
    root: Path, profile_id: str, *, append: str = "", replace: tuple[tuple[str, str], ...] = (), version: str = V2
) -> Profile:
    """`profile_id` republished under `root` as `version` (effective that day) with `replace`d text
    and `append`ed TOML; the shipped version kept as its snapshot. Returns the compiled profile."""
    text = (PROFILES_DIR / f"{profile_id}.toml").read_text(encoding="utf-8")
    shipped = load_profile(profile_id).policy.version
    snapshots = root / "history" / profile_id
    snapshots.mkdir(parents=True, exist_ok=True)
    (snapshots / f"{shipped}.toml").write_text(text, encoding="utf-8")
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new)
    text = re.sub(r'(?m)^version = "[^"]*"', f'version = "{version}"', text, count=1)
    text = re.sub(r"(?m)^effective = [0-9-]+", f"effective = {version}", text, count=1)
    current = root / f"{profile_id}.toml"
    current.write_text(text + append, encoding="utf-8")
    return load_with_history(current)


def with_new_consent_purpose(root: Path, profile_id: str) -> Profile:
    """A significant version: a new category processed on consent (new category + consent purpose)."""
    category = consent_category(load_profile(profile_id))
    return later_version(root, profile_id, append=new_consent_category_text(category))


def put_in_force(monkeypatch, profile: Profile) -> None:
    """Serve `profile` (a later version) wherever the app loads its profile, as a deploy of it would."""
    from chalicelib import wiring
    from chalicelib.profile import loader

    shipped = loader.load_profile
    monkeypatch.setattr(loader, "load_profile", lambda name: profile if name == profile.id else shipped(name))
    wiring.reset()
