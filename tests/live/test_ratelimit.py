from live.sockets.ratelimit import RefusalWindow, TokenBucket


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_bucket_allows_a_burst_of_ten_then_one_a_second():
    clock = FakeClock()
    bucket = TokenBucket(rate_per_minute=60, burst=10, clock=clock)
    assert all(bucket.take() for _ in range(10))
    assert not bucket.take()
    assert 0.99 <= bucket.retry_after() <= 1.0
    clock.now = 1.0
    assert bucket.take()
    assert not bucket.take()


def test_bucket_refills_to_the_burst_size_only():
    clock = FakeClock()
    bucket = TokenBucket(rate_per_minute=60, burst=10, clock=clock)
    clock.now = 3600
    assert sum(bucket.take() for _ in range(20)) == 10


def test_refusal_window_reaches_the_limit_within_a_minute_only():
    clock = FakeClock()
    window = RefusalWindow(limit=30, window=60, clock=clock)
    assert not any(window.add() for _ in range(29))
    clock.now = 61  # the first 29 have aged out
    assert not window.add()
    assert not any(window.add() for _ in range(28))
    assert window.add()
