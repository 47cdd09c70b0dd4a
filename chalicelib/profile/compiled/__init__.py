"""Profiles compiled from ../profiles/*.toml by `python -m chalicelib.profile.compile`."""
