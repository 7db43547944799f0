"""pacing.TokenBucket on an injected clock: the promise of `--rate` holds exactly, whatever the
arrivals and however late each sleep ends (issue 26, point 13)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corscheck.runner.pacing import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def admit(bucket: TokenBucket, clock: Clock, late_by: float) -> float:
    """What the runner does: take, or sleep as told (ending `late_by` late), until admitted."""
    for _ in range(1000):
        wait = bucket.take()
        if wait == 0.0:
            return clock.now
        clock.now += wait + late_by
    raise AssertionError("never admitted")


@given(
    rate=st.sampled_from([0.5, 1.0, 20.0, 100.0]),
    burst=st.integers(1, 4),
    gaps=st.lists(st.floats(0, 0.2), min_size=1, max_size=80),
    lateness=st.lists(st.floats(0, 0.05), min_size=1, max_size=80),
)
def test_no_window_admits_more_than_burst_plus_rate_times_its_length(
    rate: float, burst: int, gaps: list[float], lateness: list[float]
) -> None:
    clock = Clock()
    bucket = TokenBucket(rate, burst, clock)
    admitted = []
    for n, gap in enumerate(gaps):
        clock.now += gap  # the next request arrives
        admitted.append(admit(bucket, clock, lateness[n % len(lateness)]))
    for i, start in enumerate(admitted):
        for j in range(i, len(admitted)):
            window = admitted[j] - start
            assert j - i + 1 <= burst + rate * window + 1e-9


def test_an_idle_bucket_admits_its_burst_at_once_and_then_one_per_interval() -> None:
    clock = Clock()
    bucket = TokenBucket(10.0, 3, clock)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take() == pytest.approx(0.1)
    clock.now += 0.05
    assert bucket.take() == pytest.approx(0.05)  # half a token refilled, nothing taken
    clock.now += 0.05
    assert bucket.take() == 0.0
    clock.now += 10  # a long idle time refills to the burst, no more
    assert [bucket.take() for _ in range(4)][-1] > 0.0


def test_the_default_burst_is_one_request() -> None:
    clock = Clock()
    bucket = TokenBucket(20.0, clock=clock)
    assert bucket.take() == 0.0
    assert bucket.take() == pytest.approx(0.05)


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_a_bucket_that_could_never_admit_is_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate > 0 and burst >= 1"):
        TokenBucket(rate, burst)


def test_a_token_short_only_by_rounding_is_a_token() -> None:
    clock = Clock()
    clock.now = 0.0
    bucket = TokenBucket(1.0, clock=clock)
    assert bucket.take() == 0.0
    clock.now = 1.0 - 1e-9  # refilled to 1 - 1e-9: a token within rounding
    assert bucket.take() == 0.0
    clock.now = 2.0 - 3e-9  # 1 - 2e-9 since the last take: short by more than rounding
    assert bucket.take() > 0.0
