"""In-memory implementations of the domain's ports (chalicelib/domain/ports), for domain tests
without moto. Each passes the same contract suite (tests/contract) as its AWS adapter."""
