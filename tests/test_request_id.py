"""Generated request ids are logged on every line, so they must never look like a card
number to a log scan (a uuid4's hex did about once in 500 ids)."""

import re

from config.request_id import new_request_id, request_id_from
from settlement.pan import contains_full_pan


def test_generated_ids_never_hold_a_card_number_or_a_long_digit_run():
    ids = {new_request_id() for _ in range(5000)}
    assert len(ids) == 5000
    assert all(re.fullmatch(r"[a-z2-7]{32}", i) for i in ids)
    assert not [i for i in ids if contains_full_pan(i) or re.search(r"\d{13}", i)]


def test_a_sane_incoming_id_is_kept_and_a_bad_one_replaced():
    assert request_id_from("proxy-1.2:abc") == "proxy-1.2:abc"
    assert re.fullmatch(r"[a-z2-7]{32}", request_id_from("bad id\nwith a newline"))
    assert re.fullmatch(r"[a-z2-7]{32}", request_id_from(None))
