"""Input and output serializers of the acquirer API, one pair per view.

Single-object views (merchant PUT, payouts) validate with these. The batch views
validate item by item in channels/api/items.py for speed and use these to document the
items in the schema; tests/channels/test_api_schema.py checks that both agree.
"""

from datetime import datetime

from rest_framework import serializers

from settlement.arrival import Cycle
from settlement.lifecycle import LIFECYCLE_EVENT_TYPES
from settlement.models import Payout, PayoutLine, Transaction


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable.")
    message = serializers.CharField(help_text="For people.")


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorSerializer()


class AwareDateTimeField(serializers.DateTimeField):
    """A date-time that must carry its UTC offset: a naive one is refused, not guessed."""

    default_error_messages = {"naive": "A UTC offset is required (e.g. +08:00)."}

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                self.fail("invalid", format="ISO 8601")
            if parsed.tzinfo is None:
                self.fail("naive")
        return super().to_internal_value(value)


# --- merchants ------------------------------------------------------------------
class MerchantInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    settlement_cycle = serializers.ChoiceField(choices=Cycle.choices)
    account_bank = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    account_holder = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    account_last4 = serializers.RegexField(r"^[0-9]{4}$", required=False, allow_blank=True, default="",
                                           help_text="Last 4 digits of the settlement account only.")
    fee_rate_bps = serializers.IntegerField(min_value=0, max_value=10000, required=False, default=60,
                                            help_text="Fee in basis points: 60 = 0.60%.")
    contact_email = serializers.EmailField(required=False, allow_blank=True, default="")
    contact_phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    terminals = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=1000,
        help_text="Serial numbers of the merchant's terminals. When given, exactly these are active.",
    )


class MerchantOutputSerializer(serializers.Serializer):
    merchant_no = serializers.CharField()
    result = serializers.ChoiceField(choices=["created", "updated"])
    name = serializers.CharField()
    settlement_cycle = serializers.CharField()
    account_bank = serializers.CharField()
    account_holder = serializers.CharField()
    account_last4 = serializers.CharField()
    fee_rate_bps = serializers.IntegerField()
    contact_email = serializers.CharField()
    contact_phone = serializers.CharField()
    status = serializers.CharField()
    terminals = serializers.ListField(child=serializers.CharField())


# --- transactions -----------------------------------------------------------------
class TransactionItemSerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=64, help_text="Your RRN / trace number; unique per channel.")
    merchant_no = serializers.CharField(max_length=32)
    terminal_sn = serializers.CharField(max_length=64, required=False)
    amount = serializers.RegexField(r"^[0-9]{1,12}(\.[0-9]{1,2})?$", help_text='A decimal string, e.g. "1280.00".')
    currency = serializers.ChoiceField(choices=["CNY"], required=False, default="CNY")
    masked_pan = serializers.CharField(max_length=19, required=False,
                                       help_text="First 6 + last 4 at most, e.g. 622202******1234.")
    method = serializers.ChoiceField(choices=Transaction.Method.choices, required=False, default="chip")
    captured_at = AwareDateTimeField(help_text="ISO 8601 with a UTC offset.")


class TransactionsInputSerializer(serializers.Serializer):
    transactions = TransactionItemSerializer(many=True, max_length=1000)


class TransactionOutputSerializer(serializers.Serializer):
    reference = serializers.CharField()
    merchant_no = serializers.CharField()
    terminal_sn = serializers.CharField(allow_null=True)
    amount = serializers.CharField()
    fee = serializers.CharField()
    net = serializers.CharField()
    currency = serializers.CharField()
    masked_pan = serializers.CharField()
    method = serializers.CharField()
    captured_at = serializers.DateTimeField(help_text="In the channel's time zone.")
    status = serializers.ChoiceField(choices=Transaction.Status.choices)
    business_date = serializers.DateField()
    expected_by = serializers.DateTimeField(help_text="When the money should arrive, in the channel's time zone.")
    calendar_incomplete = serializers.BooleanField(
        help_text="expected_by used a year without holiday data (Monday-Friday fallback)."
    )
    payout_reference = serializers.CharField(allow_null=True)


class TransactionResultSerializer(serializers.Serializer):
    reference = serializers.CharField(allow_null=True)
    result = serializers.ChoiceField(choices=["created", "duplicate", "rejected"])
    transaction = TransactionOutputSerializer(allow_null=True)
    error = ErrorSerializer(allow_null=True)


class TransactionsOutputSerializer(serializers.Serializer):
    results = TransactionResultSerializer(many=True)


class EventOutputSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    type = serializers.CharField()
    source = serializers.CharField()
    outcome = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField()


class TransactionDetailOutputSerializer(TransactionOutputSerializer):
    settled_at = serializers.DateTimeField(allow_null=True)
    credited_at = serializers.DateTimeField(allow_null=True)
    events = EventOutputSerializer(many=True)


# --- events -----------------------------------------------------------------------
class EventItemSerializer(serializers.Serializer):
    event_id = serializers.CharField(max_length=100, help_text="Unique per channel; a retry reuses it.")
    reference = serializers.CharField(max_length=64)
    type = serializers.ChoiceField(choices=sorted(LIFECYCLE_EVENT_TYPES))
    occurred_at = AwareDateTimeField(help_text="When it happened at your end, ISO 8601 with a UTC offset.")
    payout_reference = serializers.CharField(max_length=64, required=False)
    reason = serializers.CharField(max_length=300, required=False)


class EventsInputSerializer(serializers.Serializer):
    events = EventItemSerializer(many=True, max_length=1000)


class EventResultSerializer(serializers.Serializer):
    event_id = serializers.CharField(allow_null=True)
    reference = serializers.CharField(allow_null=True)
    result = serializers.ChoiceField(
        choices=["applied", "duplicate", "stale", "rejected", "contradicts_final"],
        help_text="`contradicts_final`: the swipe is already credited, reversed or refunded and this event would "
                  "move it elsewhere. It is stored in the trail (a retry is a `duplicate`), never applied, and our "
                  "staff review it; `error.code` is `transaction_final`.",
    )
    status = serializers.CharField(allow_null=True, help_text="The transaction's status after this event.")
    error = ErrorSerializer(allow_null=True)


class EventsOutputSerializer(serializers.Serializer):
    results = EventResultSerializer(many=True)


# --- payouts ----------------------------------------------------------------------
class PayoutLineSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PayoutLine.Kind.choices)
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, coerce_to_string=True,
        help_text="Signed: what the merchant receives is positive, a deduction (fee, refund, reserve) negative.",
    )
    label = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    release_date = serializers.DateField(required=False, allow_null=True, default=None,
                                         help_text="When a withheld reserve is paid out (reserve lines only).")


class PayoutInputSerializer(serializers.Serializer):
    payout_reference = serializers.CharField(max_length=64)
    merchant_no = serializers.CharField(max_length=32)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, coerce_to_string=True)
    currency = serializers.ChoiceField(choices=["CNY"], required=False, default="CNY")
    transaction_references = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=1000, required=False,
        help_text="The whole set of swipes this payout covers: a swipe a later post leaves out is unlinked. "
                  "Omit it to leave the set as it is.",
    )
    status = serializers.ChoiceField(choices=Payout.Status.choices)
    sent_at = AwareDateTimeField(required=False, allow_null=True, default=None)
    credited_at = AwareDateTimeField(required=False, allow_null=True, default=None)
    occurred_at = AwareDateTimeField(
        required=False, allow_null=True, default=None,
        help_text="When the reported status happened (default: credited_at or sent_at for those, else now). "
                  "A status older than the payout's current one is stale.",
    )
    lines = PayoutLineSerializer(
        many=True, required=False, max_length=100,
        help_text="Itemised lines (swipes, fee, refund, chargeback, reserve, adjustment): replace the payout's "
                  "lines. Refunds, chargebacks, reserve and adjustments explain a credit other than its swipes' "
                  "net; only what they do not explain is a discrepancy. Omit to keep the lines as they are.",
    )


class PayoutRejectionSerializer(serializers.Serializer):
    reference = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class PayoutOutputSerializer(serializers.Serializer):
    payout_reference = serializers.CharField()
    result = serializers.ChoiceField(choices=["created", "updated"])
    merchant_no = serializers.CharField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    status = serializers.CharField()
    sent_at = serializers.DateTimeField(allow_null=True)
    credited_at = serializers.DateTimeField(allow_null=True)
    transaction_count = serializers.IntegerField()
    net_total = serializers.CharField(help_text="Sum of the net amounts of the covered transactions.")
    lines_total = serializers.CharField(help_text="What the refund, chargeback, reserve and adjustment lines explain.")
    discrepancy = serializers.CharField(
        help_text="amount - net_total - lines_total; anything but 0.00 is a discrepancy."
    )
    discrepancy_flagged = serializers.BooleanField()
    discrepancy_found_at = serializers.DateTimeField(
        allow_null=True, help_text="When the stored discrepancy of this payout was found; null when it adds up."
    )
    status_outcome = serializers.ChoiceField(
        choices=["applied", "stale", "unchanged"],
        help_text="What the reported status did: applied, stale (older or backwards: stored, changed nothing), "
                  "unchanged (the status it already had).",
    )
    rejected = PayoutRejectionSerializer(many=True, help_text="transaction_references that could not be linked.")


# --- settlement files -------------------------------------------------------------
RESULT_KINDS = ["matched", "amount_mismatch", "fee_mismatch", "status_mismatch", "missing_in_file",
                "unknown_to_us", "duplicate_in_file"]


class SettlementLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True, help_text="Line in the file; null for missing_in_file.")
    reference = serializers.CharField()
    result = serializers.ChoiceField(choices=RESULT_KINDS)
    fuzzy = serializers.BooleanField(help_text="Matched by merchant + terminal + amount + capture time.")
    differences = serializers.DictField(child=serializers.DictField())


class SettlementKindTotalSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    file = serializers.CharField(help_text="Sum of the file's amounts of these results.")
    ours = serializers.CharField(help_text="Sum of our amounts of these results.")


class SettlementFileOutputSerializer(serializers.Serializer):
    run = serializers.IntegerField(help_text="The stored reconciliation run.")
    file = serializers.IntegerField()
    duplicate = serializers.BooleanField(help_text="The same file was received before: its first run is answered.")
    supersedes = serializers.IntegerField(allow_null=True, help_text="The earlier file of this date it replaces.")
    business_date = serializers.DateField()
    encoding = serializers.CharField()
    lines = serializers.IntegerField()
    file_total = serializers.CharField()
    our_total = serializers.CharField()
    fuzzy_matches = serializers.IntegerField()
    totals = serializers.DictField(child=SettlementKindTotalSerializer())
    results = SettlementLineSerializer(many=True)
