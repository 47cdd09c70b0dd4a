"""Records of the 'requests' table."""

from __future__ import annotations
