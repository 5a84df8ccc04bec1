"""Chinese for issue 12's remaining gaps (i12b): 对账状态 on the bank-credit page."""

ZH = {
    "Every swipe in this credit agrees with the acquirer's settlement file.": "这笔到账中的每笔刷卡都与收单机构的对账单一致。",
    "The acquirer's figures are %(d)s more than ours.": "收单机构的金额比我们的记录多 %(d)s。",
    "The acquirer's figures are %(d)s less than ours.": "收单机构的金额比我们的记录少 %(d)s。",
    "The bank credit differs from its swipes by %(d)s (see below).": "这笔到账与其刷卡合计相差 %(d)s（见下方）。",
    "Our staff are checking it with the acquirer; you do not need to do anything.": "我们的客服正在与收单机构核对，您无需任何操作。",
}

ZH_PLURAL = {
    "The acquirer's settlement file for %(n)s swipe in this credit has not come yet.":
        "这笔到账中有 %(n)s 笔刷卡的对账单尚未送达。",
    "%(n)s swipe has a different amount in the acquirer's file.": "%(n)s 笔刷卡在收单机构对账单中的金额不同。",
    "%(n)s swipe has a different fee in the acquirer's file.": "%(n)s 笔刷卡在收单机构对账单中的手续费不同。",
    "%(n)s swipe has a different status in the acquirer's file.": "%(n)s 笔刷卡在收单机构对账单中的状态不同。",
    "%(n)s swipe is missing from the acquirer's file.": "%(n)s 笔刷卡未出现在收单机构的对账单中。",
}
