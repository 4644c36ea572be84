"""A real Celery worker process on Redis runs a task enqueued after commit and its effect lands in PostgreSQL."""

import pytest
from django.db import transaction

from accounts import services
from accounts.models import User
from portal.celery import app as celery_app
from portal.testing import broker_flush, celery_worker_process, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def real_broker():
    broker_flush()
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


def test_task_enqueued_after_commit_is_run_by_a_worker_process(real_broker, tmp_path):
    with celery_worker_process(log_path=tmp_path / "worker.log"):
        user = services.customer_register(email="worker@example.test", password="a-long-passphrase-42")

        wait_for(
            lambda: User.objects.filter(pk=user.pk, confirmation_sent_at__isnull=False).exists(),
            timeout=60,
            message="the worker to stamp confirmation_sent_at",
        )


def test_nothing_is_enqueued_for_a_rolled_back_registration(real_broker):
    import redis
    from django.conf import settings

    with pytest.raises(RuntimeError), transaction.atomic():
        services.customer_register(email="rolled-back@example.test", password="a-long-passphrase-42")
        raise RuntimeError("the business transaction fails")

    assert User.objects.count() == 0
    assert redis.Redis.from_url(settings.CELERY_BROKER_URL).llen("celery") == 0
