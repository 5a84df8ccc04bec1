"""Card-number hygiene: we store first 6 + last 4 at most, and refuse anything that
looks like a full card number anywhere in input. The one detector for every input path
(acquirer API items, poll answers, merchant inquiries, staff notes, uploads, log lines).

What counts as a card number, after NFKC normalisation (full-width digits typed by
Chinese input methods become ASCII, any script's decimal digits count):

- digits form groups; groups joined by one space, dash or dot form a run
  ("6225 8801-2345.6789");
- a card number is one group of 13-19 digits passing Luhn, or consecutive groups
  spelt the way cards are written (every group but the last of 4-6 digits: 4-4-4-4,
  4-6-5, 6-…) holding 13-19 digits passing Luhn, so "6225 8801 2345 6789 123" (a PAN
  and its CVV) is caught while "R000000000004-2" (a reference and a counter) or
  "2026.11.22 1030…" are not;
- within one group nothing is cut out: a 25-digit number is not searched by sliding
  windows, so long unrelated numbers are not flagged by chance;
- a group right after "+" is a telephone country code and never starts a card number;
- 17 digits followed by "X" are a resident ID number (its check character), not a card.
"""

import re
import unicodedata

# \d is any Unicode decimal digit; the groups are taken after NFKC.
_DIGIT_RUN = re.compile(r"\d+(?:[ .\-]\d+)*")
_GROUP = re.compile(r"\d+")
_MIN, _MAX = 13, 19
_INNER = range(4, 7)  # digits of a group followed by more digits of the same card number
# Any run holding a card number has 13+ digits with single separators between its
# groups, so with every separator deleted and every digit read as "0", an ASCII text
# that holds one shows 13 zeros in a row. bytes.translate and `in` are C loops (~0.5 ms
# for 300 kB, a tenth of the run scan; a regex first look was slower than the scan).
# A superset of what _pan_runs can flag; non-ASCII text goes straight to the scan.
_DIGIT_AS_ZERO = bytes(0x30 if 0x30 <= i <= 0x39 else 0x78 for i in range(256))
_THIRTEEN_ZEROS = b"0" * _MIN


def _may_hold_pan(text: str) -> bool:
    """Cheap first look at a normalised text: False means no card number for sure."""
    if not text.isascii():
        return True
    return _THIRTEEN_ZEROS in text.encode("ascii").translate(_DIGIT_AS_ZERO, b" .-")


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = unicodedata.decimal(ch)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def _normal(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _run_holds_pan(run: str, after_plus: bool, before_x: bool) -> bool:
    groups = _GROUP.findall(run)
    if before_x and len(groups[-1]) == 17:
        groups.pop()  # 17 digits and an X: a resident ID number's check character
    for start in range(1 if after_plus else 0, len(groups)):
        digits, previous = "", ""
        for group in groups[start:]:
            if previous and len(previous) not in _INNER:
                break  # the previous group cannot sit inside a card number
            digits += group
            previous = group
            if len(digits) > _MAX:
                break
            if len(digits) >= _MIN and luhn_valid(digits):
                return True
    return False


def _pan_runs(text: str):
    for match in _DIGIT_RUN.finditer(text):
        run = match.group()
        if len(run) < _MIN:  # too short to hold 13 digits: most runs (dates, amounts, ids)
            continue
        after_plus = match.start() > 0 and text[match.start() - 1] == "+"
        before_x = text[match.end():match.end() + 1] in ("X", "x")
        if _run_holds_pan(run, after_plus, before_x):
            yield match


def contains_full_pan(text: str) -> bool:
    text = _normal(text)
    return _may_hold_pan(text) and next(_pan_runs(text), None) is not None


def any_full_pan(texts) -> bool:
    """Whether any of these texts holds a card number: one look at all of them (joined by
    a newline, which no digit run crosses and NFKC leaves alone), so a batch of clean
    items costs one C-level scan instead of one call per field."""
    return contains_full_pan("\n".join(t for t in texts if t))


def redact_pans(text: str) -> str:
    """The text (normalised) with every run holding a card number replaced."""
    text = _normal(text)
    if not _may_hold_pan(text):
        return text
    out, last = [], 0
    for match in _pan_runs(text):
        out += [text[last:match.start()], "[redacted]"]
        last = match.end()
    return "".join(out) + text[last:] if out else text


def mask_pan(first6: str, last4: str) -> str:
    return f"{first6}******{last4}"


_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def json_escapes_may_hide_digits(raw: str) -> bool:
    """Whether raw JSON text holds a \\uXXXX escape that, decoded, could be part of a
    card number (a digit of any script, a full-width space/dash/dot) or a control
    character: only then must the decoded items be examined one by one. Escaped
    Chinese text (json.dumps' default) does not make a body suspect."""
    for code in set(_JSON_ESCAPE.findall(raw)):
        ch = chr(int(code, 16))
        if ch < " " or unicodedata.decimal(ch, None) is not None or unicodedata.normalize("NFKC", ch) in " -.":
            return True
    return False
