"""Records of the 'content' table."""

from __future__ import annotations
