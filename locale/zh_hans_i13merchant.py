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
}

ZH_PLURAL = {
    "%(n)s payment, %(amount)s": "%(n)s 笔，%(amount)s",
}
