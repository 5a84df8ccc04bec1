"""HTTP client of a channel's status API (batch query by references).

Every call has a connect and a read timeout; transient failures (connection errors,
timeouts, 5xx, 429) are retried a bounded number of times with full jitter, so a
fleet of workers does not hammer a recovering acquirer in lockstep.
"""

import json
import random
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings

from channels.poll_signing import (
    PollSigning,
    file_request_payload,
    poll_url_problem,
    sign,
    verified,
    verified_bytes,
)
from settlement.pan import contains_full_pan, json_escapes_may_hide_digits

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
    *, url: str, references: list[str], signing: PollSigning, timeout: tuple[float, float] | None = None,
    attempts: int | None = None, session: requests.Session | None = None,
) -> dict[str, PollAnswer]:
    """Ask the status API about `references` in one signed request; answers by reference.
    An answer without a valid signature for this request is a failed poll, never data."""
    problem = poll_url_problem(url, plain_http_hosts=settings.POLL_PLAIN_HTTP_HOSTS)
    if problem:
        raise PollFailed("insecure_poll_url", problem)
    if not signing.request_secret or not signing.answer_secrets:
        raise PollFailed("no_poll_secret", "the channel has no poll secret or no active signing secret")
    timeout = timeout or (settings.POLL_CONNECT_TIMEOUT, settings.POLL_READ_TIMEOUT)
    attempts = attempts or settings.POLL_HTTP_ATTEMPTS
    session = session or _session
    body = json.dumps({"references": references}).encode()
    msg_id = f"poll_{uuid.uuid4().hex}"  # retries of this request reuse it, with a fresh timestamp
    last = PollFailed("unreachable", "no attempt made")
    for attempt in range(attempts):
        if attempt:
            time.sleep(random.uniform(0, min(settings.POLL_RETRY_MAX_DELAY, settings.POLL_RETRY_BASE_DELAY * 2**attempt)))
        try:
            response = session.post(url, data=body, headers=sign(signing.request_secret, body, msg_id=msg_id),
                                    timeout=timeout, allow_redirects=False)
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
        if not verified(signing.answer_secrets, response.content, response.headers, expect_id=msg_id):
            raise PollFailed("bad_signature", "the answer is not signed by the channel for this request")
        return _parse(response)
    raise last


def settlement_file_fetch(
    *, url: str, signing: PollSigning, timeout: tuple[float, float] | None = None,
    session: requests.Session | None = None,
) -> bytes:
    """GET one settlement file, signed like a status poll; its bytes only when the answer is
    signed by the channel for this request (the daily pull retries, so one attempt here)."""
    problem = poll_url_problem(url, plain_http_hosts=settings.POLL_PLAIN_HTTP_HOSTS)
    if problem:
        raise PollFailed("insecure_poll_url", problem)
    if not signing.request_secret or not signing.answer_secrets:
        raise PollFailed("no_poll_secret", "the channel has no poll secret or no active signing secret")
    msg_id = f"sfile_{uuid.uuid4().hex}"
    headers = sign(signing.request_secret, file_request_payload(urlsplit(url).path), msg_id=msg_id)
    headers.pop("content-type", None)
    try:
        response = (session or _session).get(url, headers=headers, allow_redirects=False,
                                             timeout=timeout or (settings.POLL_CONNECT_TIMEOUT,
                                                                 settings.RECON_PULL_TIMEOUT))
    except requests.Timeout:
        raise PollFailed("timeout", "no answer in time") from None
    except requests.RequestException as exc:
        raise PollFailed("connection_error", exc.__class__.__name__) from None
    if response.status_code != 200:
        raise PollFailed(f"http_{response.status_code}", "the acquirer did not serve the file")
    if not verified_bytes(signing.answer_secrets, response.content, response.headers, expect_id=msg_id):
        raise PollFailed("bad_signature", "the file is not signed by the channel for this request")
    return response.content


class PollAnswers(dict):
    """Answers by reference. `pan_suspect`: whether the raw answer text may hold a card
    number or a NUL (one look at the bytes as received, as for a push); None when unknown,
    and then the caller looks at the decoded items."""

    pan_suspect: bool | None = None


def _parse(response: requests.Response) -> dict[str, PollAnswer]:
    try:
        results = response.json()["results"]
        answers = PollAnswers({
            str(r["reference"]): PollAnswer(str(r["reference"]), bool(r.get("found", True)), list(r.get("events") or []))
            for r in results
        })
    except (ValueError, KeyError, TypeError) as exc:
        raise PollFailed("bad_answer", "the status API answered something we cannot read") from exc
    # Every decoded text is in the raw text verbatim unless a \uXXXX escape spells it
    # (then the items are judged one by one); short escapes decode to no digit or separator.
    raw = response.content.decode("utf-8", errors="replace")  # as the push view reads its body
    answers.pan_suspect = contains_full_pan(raw) or ("\\u" in raw and json_escapes_may_hide_digits(raw))
    return answers
