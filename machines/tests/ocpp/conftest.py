"""A real uvicorn process serving the portal's ASGI app against the test database, shared by a module's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from machines.testing import asgi_server
from portal.testing import child_environment

LOG_PATH = Path("/tmp/finlab-machines-asgi-test.log")


@pytest.fixture(scope="module")
def server_url(django_db_setup, django_db_blocker) -> str:
    with django_db_blocker.unblock():
        environment = child_environment(CELERY_TASK_ALWAYS_EAGER="true")
    with asgi_server(environment=environment, log_path=LOG_PATH) as url:
        yield url
