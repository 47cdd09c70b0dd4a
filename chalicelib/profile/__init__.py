from chalicelib.profile.loader import ProfileError, active_profile, available_profiles, load_profile
from chalicelib.profile.schema import Category, Profile, RetentionKind

__all__ = [
    "Category",
    "Profile",
    "ProfileError",
    "RetentionKind",
    "active_profile",
    "available_profiles",
    "load_profile",
]
