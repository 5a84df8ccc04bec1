"""The full-card-number detector (pure)."""

from hypothesis import given
from hypothesis import strategies as st

from settlement.pan import contains_full_pan, luhn_valid


def with_check_digit(body: str) -> str:
    for d in "0123456789":
        if luhn_valid(body + d):
            return body + d
    raise AssertionError("unreachable")


@given(
    body=st.text("0123456789", min_size=12, max_size=18),
    sep=st.sampled_from(["", " ", "-"]),
    before=st.text("abc\":{ ", max_size=5),
    after=st.text("abc\":} ", max_size=5),
)
def test_any_luhn_valid_13_to_19_digit_run_is_found_with_or_without_separators(body, sep, before, after):
    pan = with_check_digit(body)
    grouped = sep.join(pan[i:i + 4] for i in range(0, len(pan), 4))
    assert contains_full_pan(before + grouped + after)


@given(st.text("0123456789", min_size=1, max_size=12))
def test_runs_of_12_digits_or_fewer_are_not_card_numbers(digits):
    assert not contains_full_pan(f'{{"reference": "{digits}", "at": "2026-11-22T08:00:00+08:00"}}')


def test_masked_and_luhn_invalid_numbers_pass():
    assert not contains_full_pan("622202******1234")
    assert not contains_full_pan("4111111111111112")
