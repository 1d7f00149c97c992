"""The reliability suite drives the same real processes as the integration suite."""

from tests.integration.conftest import (  # noqa: F401  (fixtures)
    layer_redis,
    server,
    services,
    start_server,
    start_worker,
    worker,
)
