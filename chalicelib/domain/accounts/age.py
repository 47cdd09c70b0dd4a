"""ACC-7: sign-up requires an attested birth date meeting the profile's minimum age."""

from __future__ import annotations

from datetime import date

from chalicelib.errors import Forbidden, InvalidInput
from chalicelib.profile.schema import Profile


def age_on(birth_date: date, today: date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def check_age(profile: Profile, birth_date: date | None, today: date) -> int:
    """The minimum age the user attested to; refuses (storing nothing) when it is not met."""
    if birth_date is None:
        raise InvalidInput(
            "A new account needs your date of birth ('birth_date') to confirm the minimum age.",
            details={"required": ["birth_date"], "minimum_age": profile.minimum_age},
        )
    if birth_date > today:
        raise InvalidInput("The date of birth is in the future.")
    if age_on(birth_date, today) < profile.minimum_age:
        raise Forbidden(
            f"{profile.service.name} is only for people aged {profile.minimum_age} or older.",
            details={"minimum_age": profile.minimum_age},
        )
    return profile.minimum_age
