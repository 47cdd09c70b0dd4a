"""The service's log lines as its own formatter writes them (Powertools binds its stream at import,
so pytest's capsys does not see them)."""

from __future__ import annotations

import pytest


@pytest.fixture
def written_logs():
    import io
    import logging

    from chalicelib.observability import SERVICE, logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    service_logger = logging.getLogger(SERVICE)
    level = service_logger.level
    service_logger.addHandler(handler)
    service_logger.setLevel(logging.DEBUG)  # every line a deployment could be configured to write
    yield stream
    service_logger.setLevel(level)
    service_logger.removeHandler(handler)
