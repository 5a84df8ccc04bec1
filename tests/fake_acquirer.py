"""One fake acquirer status API for tests that poll without a simulator process: it
stands in for `settlement.services.polling.status_query` (same keyword arguments,
`signing=` included, which it ignores: the signing itself is tested against the real
client in tests/channels/test_poll_signing.py).

    fake = FakeStatusApi()            # or the `fake_status_api` fixture (tests/conftest.py)
    fake.knows["R1"] = [{...event...}]
    fake.failure = PollFailed("timeout", "...")   # every query fails until reset to None
"""

from channels.polling import PollAnswer

TARGET = "settlement.services.polling.status_query"
POLL_URL = "http://127.0.0.1:9/x/status"  # never reached: the fake answers first


class FakeStatusApi:
    def __init__(self, knows: dict[str, list[dict]] | None = None):
        self.knows: dict[str, list[dict]] = knows if knows is not None else {}
        self.failure: Exception | None = None
        self.queries: list[list[str]] = []  # the references asked, query by query

    def __call__(self, *, url, references, signing=None, **_ignored):
        self.queries.append(list(references))
        if self.failure is not None:
            raise self.failure
        return {r: PollAnswer(r, True, list(self.knows.get(r, []))) for r in references}


def polling_on(channel_id: int, url: str = POLL_URL) -> None:
    """Turn polling on for a channel (a poll URL the fake stands behind)."""
    from channels.models import Channel

    Channel.objects.filter(pk=channel_id).update(poll_url=url)
