"""Re-validation is shared: one read per user per process, and a change is still seen."""

from __future__ import annotations

import asyncio
import time

import pytest

from live.sockets import revalidation

pytestmark = pytest.mark.django_db(transaction=True)


async def test_concurrent_sockets_of_one_user_share_one_read(make_user, settings, monkeypatch):
    settings.DASHBOARD_REVALIDATE_SECONDS = 30
    from channels.db import database_sync_to_async

    user = await database_sync_to_async(make_user)("wall", "viewer")
    reads: list[int] = []
    real = revalidation.reload_access

    def counting(user_id):
        reads.append(user_id)
        time.sleep(0.05)  # a slow database: the other sockets arrive while it is in flight
        return real(user_id)

    monkeypatch.setattr(revalidation, "reload_access", counting)
    reloader = revalidation.AccessReloader()
    results = await asyncio.gather(*(reloader.reload(user.pk) for _ in range(50)))
    assert reads == [user.pk]
    assert {access.level for access in results} == {"viewer"}
    await reloader.reload(user.pk)  # within the freshness window: no new read
    assert reads == [user.pk]


async def test_a_change_is_read_once_the_freshness_window_has_passed(make_user, settings):
    settings.DASHBOARD_REVALIDATE_SECONDS = 0.2  # freshness: 0.1 s
    from channels.db import database_sync_to_async

    user = await database_sync_to_async(make_user)("later", "viewer")
    reloader = revalidation.AccessReloader()
    assert (await reloader.reload(user.pk)).is_active

    @database_sync_to_async
    def deactivate():
        user.is_active = False
        user.save()

    await deactivate()
    await asyncio.sleep(0.15)
    assert not (await reloader.reload(user.pk)).is_active


async def test_a_socket_closing_mid_read_does_not_cancel_the_others(
    make_user, settings, monkeypatch
):
    settings.DASHBOARD_REVALIDATE_SECONDS = 30
    from channels.db import database_sync_to_async

    user = await database_sync_to_async(make_user)("shared", "admin", ["ER"])
    real = revalidation.reload_access

    def slow(user_id):
        time.sleep(0.2)
        return real(user_id)

    monkeypatch.setattr(revalidation, "reload_access", slow)
    reloader = revalidation.AccessReloader()
    first = asyncio.create_task(reloader.reload(user.pk))
    await asyncio.sleep(0.05)  # the first socket's read is in flight
    second = asyncio.create_task(reloader.reload(user.pk))
    await asyncio.sleep(0.05)
    first.cancel()  # that socket closed
    access = await second
    assert access.level == "admin" and access.departments == frozenset({"ER"})
    assert first.cancelled()


async def test_a_failed_read_reaches_every_waiter_and_the_next_one_reads_again(
    make_user, settings, monkeypatch
):
    settings.DASHBOARD_REVALIDATE_SECONDS = 30
    from channels.db import database_sync_to_async

    user = await database_sync_to_async(make_user)("flaky", "viewer")
    real = revalidation.reload_access
    calls = []

    def failing_once(user_id):
        calls.append(user_id)
        if len(calls) == 1:
            time.sleep(0.05)
            raise ConnectionError("database away")
        return real(user_id)

    monkeypatch.setattr(revalidation, "reload_access", failing_once)
    reloader = revalidation.AccessReloader()
    results = await asyncio.gather(
        reloader.reload(user.pk), reloader.reload(user.pk), return_exceptions=True
    )
    assert all(isinstance(result, ConnectionError) for result in results)
    assert (await reloader.reload(user.pk)).level == "viewer"
    assert len(calls) == 2
