"""Records of the 'logs' table."""

from __future__ import annotations
