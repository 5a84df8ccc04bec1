from settlement.models.cases import (
    CaseEntry,
    ChannelIncident,
    FollowUpCase,
    IncidentUpdate,
    Notification,
    ReplyTemplate,
)
from settlement.models.payouts import PayoutDiscrepancy, PayoutEvent
from settlement.models.transactions import MASKED_PAN_REGEX, Payout, SettlementEvent, Transaction

__all__ = [
    "MASKED_PAN_REGEX",
    "CaseEntry",
    "ChannelIncident",
    "FollowUpCase",
    "IncidentUpdate",
    "Notification",
    "Payout",
    "PayoutDiscrepancy",
    "PayoutEvent",
    "ReplyTemplate",
    "SettlementEvent",
    "Transaction",
]
