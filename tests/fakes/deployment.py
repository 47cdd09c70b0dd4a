"""A deployment held in memory: what the drift check reads, set to whatever a test needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.domain.ports.drift import BucketSettings, ExpectedConfiguration, SampledItem, TableSettings


@dataclass
class FakeDeployment:
    tables: dict[str, TableSettings] = field(default_factory=dict)
    buckets: dict[str, BucketSettings] = field(default_factory=dict)
    groups: dict[str, int | None] = field(default_factory=dict)
    items: dict[str, list[SampledItem]] = field(default_factory=dict)

    @classmethod
    def as_expected(cls, expected: ExpectedConfiguration) -> FakeDeployment:
        """Deployed exactly as the profile requires."""
        return cls(
            tables={
                t.name: TableSettings(
                    exists=True,
                    ttl_attribute=t.ttl_attribute,
                    recovery_enabled=t.recovery_days is not None,
                    recovery_days=t.recovery_days,
                    encrypted=True,
                )
                for t in expected.tables
            },
            buckets={
                b.name: BucketSettings(
                    exists=True,
                    expiration_days={r.prefix: r.days for r in b.rules},
                    tag_filters={r.prefix: (r.tag,) if r.tag else () for r in b.rules},
                    encrypted=True,
                )
                for b in expected.buckets
            },
            groups={f"{prefix}api": expected.log_retention_days for prefix in expected.log_group_prefixes},
        )

    def table(self, name: str) -> TableSettings:
        return self.tables.get(name, TableSettings(exists=False))

    def bucket(self, name: str) -> BucketSettings:
        return self.buckets.get(name, BucketSettings(exists=False))

    def log_groups(self, prefix: str) -> dict[str, int | None]:
        return {name: days for name, days in self.groups.items() if name.startswith(prefix)}

    def sample_items(self, table: str, limit: int) -> list[SampledItem]:
        return self.items.get(table, [])[:limit]
