"""The test settings with a per-user websocket limit of the test's choosing
(``TEST_WS_MAX_CONNECTIONS_PER_USER``), whatever the suite's own settings say."""

import os

from tests.settings import *  # noqa: F403

USER_TASKS_WS_MAX_CONNECTIONS_PER_USER = int(os.environ["TEST_WS_MAX_CONNECTIONS_PER_USER"])
