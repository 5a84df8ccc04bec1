"""Chinese for the payout door (issue 9, items 2 and 3): payout trail, stored
discrepancies, the credited-by-swipes rule. Merged by locale/translations_zh_hans.py."""

ZH = {
    # the payout trail (admin, staff)
    "Unchanged": "无变化",
    "Swipe linked": "关联刷卡",
    "Swipe unlinked": "解除关联刷卡",
    "Amount corrected": "金额更正",
    "The system rule that made this change": "做出此变更的系统规则",
    "When it happened (the acquirer's or bank's time)": "发生时间（收单机构或银行的时间）",
    "When we learned it": "我们获知的时间",
    "The payout amount": "到账金额",
    "amount - expected": "到账金额 - 应到金额",
    "A payout an event named before we had it: linked when it arrives": "事件提到但尚未收到的合并到账：收到后自动关联",
    # payout lines
    "Swipes": "刷卡",
    "Fees": "手续费",
    "Refunds": "退款",
    "Chargebacks and error adjustments (差错调整)": "差错调整",
    "Reserve withheld": "预留保证金",
    "Other adjustment": "其他调整",
    "When a withheld reserve is paid out": "预留保证金的释放日期",
    "Sum of its swipes' net amounts and of its explaining lines": "所含刷卡净额与说明明细的合计",
    "Of which its lines (refunds, reserve, ...)": "其中明细部分（退款、保证金等）",
    "paid out on %(day)s": "%(day)s 释放",
    "Due to you after these": "扣除以上后应到",
    # cases
    "Raised by a data check": "数据核对发现",
    "The amounts differ again: bank credit %(a)s, swipes %(s)s.": "金额再次不一致：到账 %(a)s，刷卡合计 %(s)s。",
    "A later post made the amounts agree: bank credit %(a)s, swipes %(s)s.":
        "之后的推送已使金额一致：到账 %(a)s，刷卡合计 %(s)s。",
    # the merchant's bank-credit page
    "credited: every swipe in it arrived": "已到账：其中每笔刷卡均已到账",
    "Difference (found %(day)s)": "差额（%(day)s 发现）",
    "Returned by the bank: its swipes are paid again in another credit": "银行已退回：其中的刷卡将在另一笔到账中重新支付",
    "This bank credit is %(d)s more than its swipes add up to after fees.": "这笔到账比其中刷卡扣除手续费后的合计多 %(d)s。",
    "This bank credit is %(d)s less than its swipes add up to after fees.": "这笔到账比其中刷卡扣除手续费后的合计少 %(d)s。",
    "We found the difference in the acquirer's figures and are checking it with them; you do not need to do "
    "anything. It goes away as soon as they correct it.":
        "我们在收单机构的数据中发现了这笔差额，正在与其核实；您无需做任何操作。对方更正后差额会自动消失。",
}
