"""Contract suites: each port's behaviour, run once against its in-memory fake and once against the
DynamoDB/S3 adapter on moto. A fake that passes here may stand in for the store in domain tests."""

from __future__ import annotations
