"""Domain tests: business rules over the in-memory fakes (tests/fakes). No moto, no AWS SDK."""
