"""Connection slots: the count never leaks, and sockets not signed in never crowd users out."""

from __future__ import annotations

import pytest

from live.admission import Admission, unauthenticated_limit


class Socket:
    def __init__(self, name: str, admission: Admission) -> None:
        self.name, self.admission, self.evicted = name, admission, False

    def evict(self) -> None:
        self.evicted = True


@pytest.fixture
def admission(settings):
    settings.DASHBOARD_MAX_CONNECTIONS = 5
    settings.DASHBOARD_MAX_UNAUTHENTICATED = 2
    slots = Admission()
    yield slots
    slots.reset()


def test_the_unauthenticated_share_defaults_to_a_tenth(settings):
    settings.DASHBOARD_MAX_UNAUTHENTICATED = None
    settings.DASHBOARD_MAX_CONNECTIONS = 1000
    assert unauthenticated_limit() == 100
    settings.DASHBOARD_MAX_CONNECTIONS = 5
    assert unauthenticated_limit() == 1


def test_a_newcomer_evicts_the_oldest_socket_still_waiting(admission):
    first, second, third = (Socket(n, admission) for n in "abc")
    assert admission.admit(first) and admission.admit(second)
    assert admission.admit(third)
    assert first.evicted and not second.evicted
    assert (admission.active, admission.unauthenticated) == (2, 2)


def test_signed_in_sockets_are_never_evicted_and_a_full_server_refuses(admission):
    users = [Socket(f"u{i}", admission) for i in range(5)]
    for user in users:
        assert admission.admit(user)
        admission.signed_in(user)
    assert not admission.admit(Socket("late", admission))
    assert not any(user.evicted for user in users)
    admission.release(users[0])
    assert admission.admit(Socket("now", admission))


def test_a_full_server_with_waiting_sockets_evicts_one_of_them(admission):
    users = [Socket(f"u{i}", admission) for i in range(4)]
    for user in users:
        admission.admit(user)
        admission.signed_in(user)
    waiting = Socket("w", admission)
    admission.admit(waiting)
    newcomer = Socket("n", admission)
    assert admission.admit(newcomer) and waiting.evicted
    assert admission.active == 5


def test_releasing_twice_counts_once(admission):
    socket = Socket("s", admission)
    admission.admit(socket)
    admission.release(socket)
    admission.release(socket)
    assert (admission.active, admission.unauthenticated) == (0, 0)
