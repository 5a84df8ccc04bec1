from settlement.models.cases import CaseEntry, ChannelIncident, FollowUpCase, Notification, ReplyTemplate
from settlement.models.payouts import PayoutDiscrepancy, PayoutEvent
from settlement.models.transactions import MASKED_PAN_REGEX, Payout, SettlementEvent, Transaction

__all__ = [
    "MASKED_PAN_REGEX",
    "CaseEntry",
    "ChannelIncident",
    "FollowUpCase",
    "Notification",
    "Payout",
    "PayoutDiscrepancy",
    "PayoutEvent",
    "ReplyTemplate",
    "SettlementEvent",
    "Transaction",
]
