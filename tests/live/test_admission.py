"""Connection slots: the count never leaks, sockets not signed in never crowd users out, no one
takes more than a fair share, and the instance's limit holds across its workers."""

from __future__ import annotations

import os

import pytest

from live.sockets import board as board_module
from live.sockets.admission import Admission, Arrival, unauthenticated_limit
from live.sockets.board import Board, missing_workers
from live.sockets.protocol import CLOSE_OVER_SHARE, CLOSE_TRY_AGAIN_LATER

ANON = Arrival("10.0.0.1")


def user(n: int, address: str = "10.0.0.1") -> Arrival:
    return Arrival(address, f"user:{n}")


class Socket:
    def __init__(self, name: str) -> None:
        self.name, self.evicted = name, False

    def evict(self) -> None:
        self.evicted = True


@pytest.fixture
def admission(settings):
    settings.DASHBOARD_MAX_CONNECTIONS = 5
    settings.DASHBOARD_MAX_UNAUTHENTICATED = 2
    settings.DASHBOARD_EVICT_AFTER_SECONDS = 0
    settings.DASHBOARD_MAX_SOCKETS_PER_USER = 10
    settings.DASHBOARD_MAX_SOCKETS_PER_ADDRESS = 100
    settings.DASHBOARD_MAX_WAITING_PER_ADDRESS = 100
    slots = Admission(Board())
    yield slots
    slots.reset()


def admit(admission: Admission, name: str, arrival: Arrival = ANON) -> tuple[Socket, int | None]:
    socket = Socket(name)
    return socket, admission.admit(socket, arrival)


def test_the_unauthenticated_share_defaults_to_a_tenth(settings):
    settings.DASHBOARD_MAX_UNAUTHENTICATED = None
    settings.DASHBOARD_MAX_CONNECTIONS = 1000
    assert unauthenticated_limit() == 100
    settings.DASHBOARD_MAX_CONNECTIONS = 5
    assert unauthenticated_limit() == 1


def test_a_newcomer_evicts_the_oldest_socket_still_waiting(admission):
    first, _ = admit(admission, "a")
    second, _ = admit(admission, "b")
    third, refused = admit(admission, "c")
    assert refused is None
    assert first.evicted and not second.evicted
    assert (admission.active, admission.unauthenticated) == (2, 2)
    assert admission.board.socket_count() == 2


def test_sockets_that_just_arrived_are_not_evicted_the_newcomer_waits(admission, settings):
    settings.DASHBOARD_EVICT_AFTER_SECONDS = 60  # a crowd reconnecting at once
    first, _ = admit(admission, "a")
    second, _ = admit(admission, "b")
    third = Socket("c")
    assert admission.admit(third, ANON) == CLOSE_TRY_AGAIN_LATER
    assert not first.evicted and not second.evicted
    assert admission.signed_in(first, user(1)) is None  # signing in frees its waiting slot
    assert admission.admit(third, ANON) is None


def test_a_newcomer_with_a_ticket_takes_the_slot_of_a_waiting_socket_at_once(admission, settings):
    settings.DASHBOARD_EVICT_AFTER_SECONDS = 60
    for n in range(4):
        admit(admission, f"u{n}", user(n))
    waiting, _ = admit(admission, "w")
    _, refused = admit(admission, "ticketed", user(9))
    assert refused is None and waiting.evicted
    assert admission.active == 5


def test_signed_in_sockets_are_never_evicted_and_a_full_instance_refuses(admission):
    users = [admit(admission, f"u{n}", user(n))[0] for n in range(5)]
    assert admit(admission, "late", user(7))[1] == CLOSE_TRY_AGAIN_LATER
    assert admit(admission, "late", ANON)[1] == CLOSE_TRY_AGAIN_LATER
    assert not any(socket.evicted for socket in users)
    admission.release(users[0])
    assert admit(admission, "now", user(8))[1] is None


def test_one_user_gets_its_share_and_another_user_still_gets_in(admission, settings):
    settings.DASHBOARD_MAX_SOCKETS_PER_USER = 2
    assert [admit(admission, f"s{n}", user(1))[1] for n in range(3)] == [None, None, 4029]
    assert CLOSE_OVER_SHARE == 4029
    assert admit(admission, "other", user(2))[1] is None
    # Signing in by message counts against the same share.
    waiting, _ = admit(admission, "w")
    assert admission.signed_in(waiting, user(1)) == CLOSE_OVER_SHARE
    # ...and renewing the token of a socket already signed in is no newcomer.
    first = next(iter(admission._signed_in))
    assert admission.signed_in(first, user(1)) is None


def test_an_address_gets_its_share_of_signed_in_and_of_waiting_sockets(admission, settings):
    settings.DASHBOARD_MAX_CONNECTIONS = 50
    settings.DASHBOARD_MAX_UNAUTHENTICATED = 40
    settings.DASHBOARD_MAX_SOCKETS_PER_ADDRESS = 3
    settings.DASHBOARD_MAX_WAITING_PER_ADDRESS = 2
    here = [admit(admission, f"u{n}", user(n, "10.0.0.7"))[1] for n in range(4)]
    assert here == [None, None, None, CLOSE_OVER_SHARE]
    assert admit(admission, "elsewhere", user(5, "10.0.0.8"))[1] is None
    flood = [admit(admission, f"f{n}", Arrival("10.0.0.9"))[1] for n in range(4)]
    assert flood == [None, None, CLOSE_OVER_SHARE, CLOSE_OVER_SHARE]
    assert admit(admission, "neighbour", Arrival("10.0.0.10"))[1] is None


def test_releasing_twice_counts_once(admission):
    socket, _ = admit(admission, "s")
    admission.release(socket)
    admission.release(socket)
    assert (admission.active, admission.unauthenticated) == (0, 0)
    assert admission.board.socket_count() == 0


def test_the_limit_holds_for_the_instance_across_workers(tmp_path, settings, monkeypatch):
    """Two workers (two processes' connections to one board file) share the limit of 5."""
    settings.DASHBOARD_MAX_CONNECTIONS = 5
    settings.DASHBOARD_MAX_UNAUTHENTICATED = 5
    path = str(tmp_path / "board.sqlite3")
    workers = [Admission(Board(path)), Admission(Board(path))]
    results = []
    for n in range(8):
        monkeypatch.setenv(board_module.WORKER_ENV, str(n % 2))
        results.append(workers[n % 2].admit(Socket(f"s{n}"), user(n)))
    assert results.count(None) == 5
    assert workers[0].board.socket_count() == 5
    # A worker replaced by the supervisor: its sockets no longer count.
    workers[0].board.worker_started(1, os.getpid())
    assert workers[1].board.socket_count() == 3


def test_a_worker_is_missing_until_it_beats_and_after_it_falls_silent(tmp_path):
    board = Board(str(tmp_path / "board.sqlite3"))
    board.worker_started(0, 100)
    board.worker_started(1, 101)
    assert missing_workers(board) == [0, 1]
    board.beat(0)
    board.beat(1)
    assert missing_workers(board) == []
    beat = {w.index: w.beat for w in board.workers()}
    assert missing_workers(board, now=beat[1] + 10) == [0, 1]
