"""The full-card-number detector (pure): any spelling caught, other identifiers left alone."""

from hypothesis import given
from hypothesis import strategies as st

from settlement.pan import contains_full_pan, luhn_valid, redact_pans

FULL_WIDTH = str.maketrans("0123456789 -.", "０１２３４５６７８９　－．")
DIGITS = "0123456789"
# Text around a number: letters, Chinese, JSON punctuation; never a digit, a separator or "+".
AROUND = st.text("卡号是：abcXYZ\"{}:,/()=", max_size=6)


def with_check_digit(body: str) -> str:
    for d in DIGITS:
        if luhn_valid(body + d):
            return body + d
    raise AssertionError("unreachable")


def grouped(number: str, sizes: list[int], sep: str) -> str:
    out, i = [], 0
    for size in sizes:
        if i >= len(number):
            break
        out.append(number[i:i + size])
        i += size
    if i < len(number):
        out.append(number[i:])
    return sep.join(out)


@st.composite
def pan_spellings(draw):
    pan = with_check_digit(draw(st.text(DIGITS, min_size=12, max_size=18)))
    sizes = draw(st.sampled_from([[4, 4, 4, 4, 4], [4, 6, 5], [6, 13], [19], [5, 5, 5, 5]]))
    sep = draw(st.sampled_from([" ", "-", "."]))
    text = grouped(pan, sizes, sep)
    if draw(st.booleans()):  # followed by its CVV
        text += draw(st.sampled_from([" ", "-", "."])) + draw(st.text(DIGITS, min_size=3, max_size=4))
    if draw(st.booleans()):  # typed with a Chinese input method
        text = text.translate(FULL_WIDTH)
    after = draw(AROUND)
    if after[:1] in ("X", "x"):  # 17 digits and an X read as a resident ID number, by design
        after = " " + after
    return draw(AROUND) + text + after


@given(pan_spellings())
def test_a_card_number_in_any_spelling_inside_text_is_found(text):
    assert contains_full_pan(text)
    assert not contains_full_pan(redact_pans(text))


def test_the_issues_examples_are_found():
    assert contains_full_pan("卡号６２２５８８０１２３４５６７８３")  # full-width, Luhn-valid
    assert contains_full_pan("6225 8801 2345 6783 123")  # a PAN followed by its CVV
    assert contains_full_pan("4111.1111.1111.1111")
    assert contains_full_pan("card 4111111111111111, cvv 123")


@given(st.text(DIGITS, min_size=1, max_size=12), st.sampled_from(["RRN", "REF-", "TRC", "ref "]))
def test_references_are_not_card_numbers(digits, prefix):
    assert not contains_full_pan(f'{{"reference": "{prefix}{digits}", "at": "2026-11-22T08:00:00+08:00"}}')


@given(
    st.sampled_from("3456789"),
    st.text(DIGITS, min_size=9, max_size=9),
    st.sampled_from(["", " ", "-"]),
    st.sampled_from(["", "+86 ", "+86-", "+86", "tel: +86 "]),
)
def test_chinese_mobile_numbers_with_or_without_the_country_code_are_not(second, rest, sep, prefix):
    number = "1" + second + rest
    text = prefix + sep.join([number[:3], number[3:7], number[7:]])
    assert not contains_full_pan(f"联系电话 {text} 谢谢")


@given(st.text(DIGITS, min_size=17, max_size=17).filter(lambda d: d[0] != "0"), st.sampled_from(DIGITS + "X"))
def test_18_digit_id_numbers_that_fail_luhn_are_not(body, last):
    number = body + last
    if last != "X" and luhn_valid(number):
        return  # Luhn-valid 18 digits are indistinguishable from a 18-digit card number
    assert not contains_full_pan(f"身份证 {number}")


@given(st.text(DIGITS, min_size=20, max_size=40))
def test_long_numbers_are_never_searched_by_sliding_windows(digits):
    assert not contains_full_pan(f"batch {digits} ok")


@given(st.text(DIGITS, min_size=7, max_size=12), st.integers(0, 999), st.sampled_from(["-", ".", " "]))
def test_a_long_reference_and_a_counter_are_not_a_card_number(digits, n, sep):
    # an acquirer's event id "R000000000004-2-settled": the long group cannot sit inside a card number
    assert not contains_full_pan(f"R{digits}{sep}{n}{sep}settled")


def test_dates_and_times_are_not_card_numbers():
    assert not contains_full_pan("2026.11.22 1030 4567")
    assert not contains_full_pan("2026-11-22 10 30 45 678901")


def test_masked_and_luhn_invalid_numbers_pass():
    assert not contains_full_pan("622202******1234")
    assert not contains_full_pan("4111111111111112")
    assert not contains_full_pan("6222 0212 3456 7890")  # 16 digits, Luhn fails


def test_only_escapes_that_could_hide_a_digit_make_raw_json_suspect():
    import json

    from settlement.pan import json_escapes_may_hide_digits

    assert not json_escapes_may_hide_digits(json.dumps({"name": "老王便利店 Wang's", "reason": "账户信息有误"}))
    assert json_escapes_may_hide_digits(json.dumps({"reason": "６２２５"}))  # full-width digits
    assert json_escapes_may_hide_digits(json.dumps({"reason": "٦٢٢٥"}))  # Arabic-Indic digits
    assert json_escapes_may_hide_digits(json.dumps({"reason": "6225　8801"}))  # ideographic space
    assert json_escapes_may_hide_digits('{"reason": "a\\u0000b"}')  # NUL, refused downstream


# Text that exercises the first look: digits, separators, "+", "X", full-width and other
# scripts' digits, and newlines (the batch look joins texts with them).
_ANY = st.text("0123456789 -.+Xx\n卡号abc０１２３４５６７８９　－．٦٢", max_size=60)


def _full_scan(text: str) -> bool:
    """The detector without its C-level first look (what it did before that was added)."""
    from settlement.pan import _normal, _pan_runs

    return next(_pan_runs(_normal(text)), None) is not None


@given(st.one_of(_ANY, pan_spellings()))
def test_the_first_look_never_hides_what_the_full_scan_finds(text):
    assert contains_full_pan(text) == _full_scan(text)
    if not _full_scan(text):
        from settlement.pan import _normal

        assert redact_pans(text) == _normal(text)


@given(st.lists(st.one_of(_ANY.map(lambda t: t.replace("\n", "")), pan_spellings()), max_size=6))
def test_one_look_at_a_batch_finds_a_card_number_iff_one_of_its_texts_holds_one(texts):
    from settlement.pan import any_full_pan

    assert any_full_pan(texts) == any(contains_full_pan(t) for t in texts)

