"""Chinese for the merchant dashboard's issue-13 texts (merged by translations_zh_hans.py)."""

ZH = {
    # home: numbers that add up
    "%(swiped)s swiped − %(fee)s fee = %(net)s: %(arrived)s arrived + %(on_the_way)s on its way":
        "%(swiped)s 刷卡 − %(fee)s 手续费 = %(net)s：已到账 %(arrived)s + 在途 %(on_the_way)s",
    "Any day, the longest overdue first.": "不限日期，超时最久的排在最前。",
    "Showing the %(n)s longest overdue.": "仅显示超时最久的 %(n)s 笔。",
    "All late payments": "全部延迟款项",
    "Nothing is late.": "没有延迟的款项。",
    "Only late payments": "只看延迟款项",
    # home: money coming
    "Money coming": "即将到账",
    "expected by %(time)s today: %(amount)s": "预计今日 %(time)s 前到账 %(amount)s",
    "nothing expected today": "今日无预计到账",
    "tomorrow %(amount)s": "明天 %(amount)s",
    "this week %(amount)s": "本周 %(amount)s",
    "; ": "；",
    "Tomorrow": "明天",
    "by %(t)s": "%(t)s 前",
    "Bank credit %(ref)s": "银行到账 %(ref)s",
    "Not yet in a bank credit": "尚未合并到账",
    # keep what was typed; find by reference
    "Letters and digits, in any case; the first 4 characters are enough.": "字母和数字均可，不分大小写；输入前 4 位即可。",
    # CSV export
    "Late since": "延迟起始时间",
    # every shop of an owner
    "Switched to %(shop)s.": "已切换到 %(shop)s。",
    "All my shops": "我的全部店铺",
    "All shops": "全部店铺",
    "Shops": "店铺",
    "(shown now)": "（当前）",
    "Swiped today": "今日刷卡",
    "Open this shop": "进入这家店",
    "See its late payments": "查看延迟款项",
    "Late payments, all shops": "全部店铺的延迟款项",
    "Unread messages, all shops": "全部店铺的未读消息",
    # the landing page
    "For shop owners: when each swipe will arrive, what is late and why, every bank credit and the swipes in it. "
    "For support staff: the late payments to chase.":
        "商户：每笔刷卡何时到账、哪些延迟及原因、每笔银行入账包含哪些交易。客服：需要跟进的延迟款项。",
    # plain words: the status glossary (merchants/glossary.py)
    "Card swiped": "已刷卡",
    "Sent to your bank": "待银行入账",
    "In your bank": "已到账",
    "Held by risk control": "风控冻结",
    "Being prepared": "待出款",
    "In progress": "处理中",
    "What each status means": "状态说明",
    "The words on the coloured labels, in Chinese and English.": "彩色标签上每个词的意思（中文 / English）。",
    "Swipes": "刷卡交易",
    "Your questions and our follow-up": "您的咨询与我们的跟进",
    "The card was swiped on your terminal. The acquirer will collect it with the day's other swipes.":
        "已在您的终端上刷卡，收单机构会与当天的其他交易一起处理。",
    "The card network has cleared the swipe with the card's bank. The money has not been paid to you yet.":
        "银行卡组织已完成清算，钱还没有付给您。",
    "The acquirer has settled it and sent the money to your bank; your bank has not credited your account yet. "
    "Some acquirer apps already call this 已结算 (settled).":
        "收单机构已结算并把钱划给您的开户银行，银行尚未入账到您的账户。有些收单 App 此时已显示“已结算”。",
    "The money is in your bank account (到账). This is final.": "钱已进入您的银行账户，这是最终状态。",
    "The acquirer's risk control has held the payment. We show it here until it is released.":
        "收单机构风控冻结了这笔款项，解冻前会一直显示在这里。",
    "Your bank sent the money back, often because of the account details. It is paid again once fixed.":
        "银行把钱退回了，通常是账户信息有误。更正后会重新付款。",
    "The swipe was cancelled before it was cleared. No money is due for it.": "这笔交易在清算前已撤销，不会有款项到账。",
    "The money went back to the cardholder. No money is due for it.": "款项已退还给持卡人，不会有款项到账。",
    "Not in your bank by the time we expected it, plus the acquirer's grace period. Our staff follow it up "
    "and tell you the new estimate.":
        "超过预计到账时间（含收单机构的宽限期）仍未到账。我们的客服会跟进，并告诉您新的预计时间。",
    "The acquirer is putting this bank credit together.": "收单机构正在汇总这笔到账。",
    "The acquirer has sent this credit to your bank; it is not in your account yet.":
        "收单机构已把这笔款项发往您的银行，尚未入账。",
    "The bank credit is in your account.": "这笔款项已进入您的账户。",
    "Your bank sent this credit back; it is paid again once fixed.": "银行退回了这笔款项，更正后会重新付款。",
    "We have your question or found the late payment, and will pick it up soon.":
        "我们已收到您的咨询或发现了延迟款项，会尽快处理。",
    "A member of our staff is working on it.": "客服正在处理。",
    "It needs a senior colleague or the acquirer; it is still being followed.": "需要主管或收单机构协助，仍在跟进中。",
    "Done. The outcome is on the case.": "已处理完毕，结果见工单。",
}

ZH_PLURAL = {
    "Late: %(n)s payment, %(amount)s": "延迟：%(n)s 笔，%(amount)s",
    "%(n)s payment, %(amount)s": "%(n)s 笔，%(amount)s",
}
