from settlement.models.cases import CaseEntry, ChannelIncident, FollowUpCase, Notification
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
    "Notification",
    "Payout",
    "PayoutDiscrepancy",
    "PayoutEvent",
    "PayoutLine",
    "SettlementEvent",
    "Transaction",
]
