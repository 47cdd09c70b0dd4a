"""Records of the 'ledger' table."""

from __future__ import annotations
