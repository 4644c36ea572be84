"""A real Celery worker process on Redis runs a task enqueued after commit and its effect lands in PostgreSQL."""

import pytest
from django.db import transaction

from accounts import services
from accounts.models import User
from core.testing import PROCESS_START_TIMEOUT_SECONDS
from portal.testing import celery_worker_process, tasks_sent_to_broker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def real_broker():
    with tasks_sent_to_broker():
        yield


def test_task_enqueued_after_commit_is_run_by_a_worker_process(real_broker, tmp_path):
    user = services.customer_register(email="worker@example.test", password="a-long-passphrase-42")
    assert User.objects.get(pk=user.pk).confirmation_sent_at is None  # on the broker, not run in this process

    with celery_worker_process(log_path=tmp_path / "worker.log"):
        wait_for(
            lambda: User.objects.filter(pk=user.pk, confirmation_sent_at__isnull=False).exists(),
            timeout=PROCESS_START_TIMEOUT_SECONDS,  # the worker's own start-up is part of the wait
            message="the worker to stamp confirmation_sent_at",
        )

    log = (tmp_path / "worker.log").read_text()
    assert "Task core.outbox_deliver[" in log and "succeeded" in log


def test_nothing_is_enqueued_for_a_rolled_back_registration(real_broker):
    import redis
    from django.conf import settings

    with pytest.raises(RuntimeError), transaction.atomic():
        services.customer_register(email="rolled-back@example.test", password="a-long-passphrase-42")
        raise RuntimeError("the business transaction fails")

    assert User.objects.count() == 0
    assert redis.Redis.from_url(settings.CELERY_BROKER_URL).llen("celery") == 0
