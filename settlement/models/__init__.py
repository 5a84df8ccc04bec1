from settlement.models.cases import (
    CaseEntry,
    ChannelIncident,
    FollowUpCase,
    IncidentUpdate,
    Notification,
    ReplyTemplate,
)
from settlement.models.payouts import PayoutDiscrepancy, PayoutEvent, PayoutLine
from settlement.models.reconciliation import (
    BreakKind,
    ReconciliationBreak,
    ReconciliationResult,
    ReconciliationRun,
    ResultKind,
    SettlementFile,
    SettlementFilePull,
)
from settlement.models.reschedule import DeadlineRecompute, HolidayPlan
from settlement.models.transactions import MASKED_PAN_REGEX, Payout, SettlementEvent, Transaction

__all__ = [
    "MASKED_PAN_REGEX",
    "BreakKind",
    "ReconciliationBreak",
    "ReconciliationResult",
    "ReconciliationRun",
    "ResultKind",
    "SettlementFile",
    "SettlementFilePull",
    "CaseEntry",
    "DeadlineRecompute",
    "ChannelIncident",
    "FollowUpCase",
    "HolidayPlan",
    "IncidentUpdate",
    "Notification",
    "Payout",
    "PayoutDiscrepancy",
    "PayoutEvent",
    "PayoutLine",
    "ReplyTemplate",
    "SettlementEvent",
    "Transaction",
]
