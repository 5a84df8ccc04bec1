"""HTTP client of a channel's status API (batch query by references).

Every call has a connect and a read timeout; transient failures (connection errors,
timeouts, 5xx, 429) are retried a bounded number of times with full jitter, so a
fleet of workers does not hammer a recovering acquirer in lockstep.
"""

import random
import time
from dataclasses import dataclass

import requests
from django.conf import settings

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class PollFailed(Exception):
    """The status API could not be asked (after retries) or answered nonsense."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PollAnswer:
    reference: str
    found: bool
    events: list[dict]


_session = requests.Session()


def status_query(
    *, url: str, references: list[str], timeout: tuple[float, float] | None = None, attempts: int | None = None,
    session: requests.Session | None = None,
) -> dict[str, PollAnswer]:
    """Ask the status API about `references` in one request; answers by reference."""
    timeout = timeout or (settings.POLL_CONNECT_TIMEOUT, settings.POLL_READ_TIMEOUT)
    attempts = attempts or settings.POLL_HTTP_ATTEMPTS
    session = session or _session
    last = PollFailed("unreachable", "no attempt made")
    for attempt in range(attempts):
        if attempt:
            time.sleep(random.uniform(0, min(settings.POLL_RETRY_MAX_DELAY, settings.POLL_RETRY_BASE_DELAY * 2**attempt)))
        try:
            response = session.post(url, json={"references": references}, timeout=timeout)
        except requests.Timeout:
            last = PollFailed("timeout", f"no answer within {timeout[1]:g}s")
            continue
        except requests.RequestException as exc:
            last = PollFailed("connection_error", exc.__class__.__name__)
            continue
        if response.status_code in TRANSIENT_STATUSES:
            last = PollFailed(f"http_{response.status_code}", "transient error from the status API")
            continue
        if response.status_code != 200:
            raise PollFailed(f"http_{response.status_code}", "the status API refused the query")
        return _parse(response)
    raise last


def _parse(response: requests.Response) -> dict[str, PollAnswer]:
    try:
        results = response.json()["results"]
        return {
            str(r["reference"]): PollAnswer(str(r["reference"]), bool(r.get("found", True)), list(r.get("events") or []))
            for r in results
        }
    except (ValueError, KeyError, TypeError) as exc:
        raise PollFailed("bad_answer", "the status API answered something we cannot read") from exc
