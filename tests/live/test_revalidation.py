"""Re-validation is shared: one read per user per process, and a change is still seen."""

from __future__ import annotations

import asyncio
import time

import pytest

from live import revalidation

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
