"""Input and output serializers of the merchant API, one pair per view."""

from rest_framework import serializers

from merchants.forms import parse_amount
from merchants.models import Merchant
from settlement.lifecycle import Status
from settlement.models import CaseEntry, FollowUpCase, Notification, Payout, SettlementEvent, Transaction


class MerchantOut(serializers.ModelSerializer):
    class Meta:
        model = Merchant
        fields = ["id", "merchant_no", "name", "settlement_cycle", "timezone", "language", "account_last4"]


class ComingCreditOut(serializers.Serializer):
    payout_id = serializers.IntegerField(allow_null=True)
    payout_reference = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    count = serializers.IntegerField()
    by = serializers.DateTimeField()


class ComingDayOut(serializers.Serializer):
    day = serializers.DateField()
    by = serializers.DateTimeField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    count = serializers.IntegerField()
    credits = ComingCreditOut(many=True)


class ComingOut(serializers.Serializer):
    today = serializers.DecimalField(max_digits=14, decimal_places=2, source="today_amount")
    today_by = serializers.DateTimeField(source="today.by", allow_null=True)
    tomorrow = serializers.DecimalField(max_digits=14, decimal_places=2, source="tomorrow_amount")
    this_week = serializers.DecimalField(max_digits=14, decimal_places=2)
    days = ComingDayOut(many=True)


class TodayOut(serializers.Serializer):
    """merchants.selectors.home_numbers: the home page's figures, the same numbers.
    swiped - fee = net = arrived + on_the_way (today's captures); late_* is any day."""

    day = serializers.DateField(source="today.day")
    count = serializers.IntegerField(source="today.count")
    swiped = serializers.DecimalField(max_digits=14, decimal_places=2, source="today.swiped")
    fee = serializers.DecimalField(max_digits=14, decimal_places=2, source="today.fee")
    net = serializers.DecimalField(max_digits=14, decimal_places=2, source="today.net")
    arrived = serializers.DecimalField(max_digits=14, decimal_places=2, source="today.arrived")
    on_the_way = serializers.DecimalField(max_digits=14, decimal_places=2, source="today.on_the_way")
    next_expected_by = serializers.DateTimeField(allow_null=True, source="today.next_expected_by")
    late_count = serializers.IntegerField(source="late.count")
    late_amount = serializers.DecimalField(max_digits=14, decimal_places=2, source="late.amount")
    late_oldest_expected_by = serializers.DateTimeField(allow_null=True, source="late.oldest_expected_by")
    coming = ComingOut()


class TransactionFilterIn(serializers.Serializer):
    merchant = serializers.IntegerField(required=False)
    reference = serializers.CharField(required=False, max_length=64, allow_blank=True)
    amount = serializers.CharField(required=False, max_length=20, allow_blank=True)
    last4 = serializers.RegexField(r"^[0-9]{4}$", required=False, allow_blank=True)
    terminal = serializers.IntegerField(required=False)
    status = serializers.ChoiceField(choices=Status.choices, required=False, allow_blank=True)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    late = serializers.BooleanField(required=False)
    limit = serializers.IntegerField(required=False)
    offset = serializers.IntegerField(required=False)

    def validate_amount(self, value):
        from django import forms

        try:
            return parse_amount(value)
        except forms.ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class TransactionOut(serializers.ModelSerializer):
    terminal = serializers.CharField(source="terminal.serial_number", default=None, allow_null=True)
    delayed = serializers.SerializerMethodField()
    case_reference = serializers.CharField(default=None, allow_null=True)

    class Meta:
        model = Transaction
        fields = ["id", "reference", "amount", "fee", "net", "currency", "masked_pan", "method", "captured_at",
                  "status", "expected_by", "calendar_incomplete", "settled_at", "credited_at", "terminal",
                  "payout_id", "delayed", "delayed_since", "case_reference"]

    def get_delayed(self, obj) -> bool:
        return obj.delayed_since is not None and not obj.is_final


class EventOut(serializers.ModelSerializer):
    class Meta:
        model = SettlementEvent
        fields = ["type", "occurred_at", "reason"]


class TransactionDetailOut(TransactionOut):
    timeline = serializers.SerializerMethodField()
    arrival_text = serializers.CharField()

    class Meta(TransactionOut.Meta):
        fields = [*TransactionOut.Meta.fields, "timeline", "arrival_text"]

    def get_timeline(self, obj) -> list[dict]:
        return EventOut(obj.timeline, many=True).data


class PayoutOut(serializers.ModelSerializer):
    swipe_count = serializers.IntegerField()
    swipes_net = serializers.DecimalField(max_digits=14, decimal_places=2)
    residual = serializers.SerializerMethodField()

    class Meta:
        model = Payout
        fields = ["id", "reference", "amount", "currency", "status", "sent_at", "credited_at", "swipe_count",
                  "swipes_net", "residual"]

    def get_residual(self, obj) -> str:
        return f"{obj.amount - obj.swipes_net:.2f}"


class PayoutDetailOut(PayoutOut):
    transactions = serializers.SerializerMethodField()

    class Meta(PayoutOut.Meta):
        fields = [*PayoutOut.Meta.fields, "transactions"]

    def get_transactions(self, obj) -> list[dict]:
        return TransactionOut(obj.swipes, many=True).data


class CaseEntryOut(serializers.ModelSerializer):
    class Meta:
        model = CaseEntry
        fields = ["kind", "body", "created_at"]


class CaseOut(serializers.ModelSerializer):
    transaction_reference = serializers.CharField(source="transaction.reference", default=None, allow_null=True)
    payout_reference = serializers.CharField(source="payout.reference", default=None, allow_null=True)

    class Meta:
        model = FollowUpCase
        fields = ["id", "reference", "status", "origin", "cause", "opened_at", "sla_due_at", "new_expected_by",
                  "resolved_at", "outcome", "transaction_id", "transaction_reference", "payout_id", "payout_reference"]


class CaseDetailOut(CaseOut):
    entries = serializers.SerializerMethodField()

    class Meta(CaseOut.Meta):
        fields = [*CaseOut.Meta.fields, "entries"]

    def get_entries(self, obj) -> list[dict]:
        return CaseEntryOut(obj.merchant_entries, many=True).data


class InquiryIn(serializers.Serializer):
    merchant = serializers.IntegerField(required=False)
    transaction = serializers.IntegerField(required=False)
    payout = serializers.IntegerField(required=False)
    message = serializers.CharField(max_length=2000)

    def validate(self, data):
        if ("transaction" in data) == ("payout" in data):
            raise serializers.ValidationError("Give exactly one of transaction or payout.")
        return data


class InquiryOut(serializers.Serializer):
    case = CaseOut()
    joined = serializers.BooleanField()


class NotificationOut(serializers.ModelSerializer):
    transaction_reference = serializers.CharField(source="transaction.reference", default=None, allow_null=True)
    case_reference = serializers.CharField(source="case.reference", default=None, allow_null=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "created_at", "read_at", "transaction_id", "transaction_reference", "case_reference",
                  "data"]
