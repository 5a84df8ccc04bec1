"""Chinese for issue 10: deadlines that follow the calendar (reschedules, the year
editor, the calendar banner). Merged by locale/translations_zh_hans.py."""

ZH = {
    # events, outcomes, notifications
    "Expected arrival updated": "预计到账时间已更新",
    "Deadline moved: not late any more": "到账时间已顺延，不再延迟",
    "Expected arrival updated: %(when)s because %(reason)s": "预计到账时间已更新：%(when)s 原因：%(reason)s",
    "the %(year)s holiday schedule was entered": "%(year)s年节假日安排已录入",
    "the holiday calendar changed (%(days)s)": "节假日日历已调整（%(days)s）",
    "the acquirer's settlement times changed": "收单机构结算时间已调整",
    "the money was paid again after the bank returned it": "银行退回后款项已重新结算",
    "the settlement schedule changed": "结算安排已调整",
    "Expected arrival updated for %(n)s payment(s)": "%(n)s笔款项的预计到账时间已更新",
    "%(n)s by %(when)s (%(amount)s)": "%(n)s笔于%(when)s前到账（%(amount)s）",
    "%(n)s card payment(s) totalling %(amount)s have a new expected arrival: %(moves)s. Reason: %(reason)s.":
        "共%(n)s笔刷卡款（合计%(amount)s）的预计到账时间已更新：%(moves)s。原因：%(reason)s。",
    # recompute work items
    "Calendar day changed": "日历日期已修改",
    "Calendar year completed": "日历年度已完成",
    "Channel settlement rules changed": "渠道结算规则已修改",
    "Swipes not late": "未延迟的交易",
    "Swipes already late": "已延迟的交易",
    "Done": "已完成",
    "What changed, shown in each swipe's trail": "修改内容（记录在每笔交易的轨迹中）",
    "Only deadlines from here on can move": "仅此时间之后的到账时间可能变动",
    "How many late spells ended (rescheduled, re-paid); the next one's ids carry it":
        "延迟状态已结束的次数（顺延或重新结算）；下一次延迟的编号带有此数",
    "The instant the deadline is counted from when not the capture (re-payment)":
        "到账时间的起算时刻（重新结算时，不再按刷卡时间）",
    # staff: banner and year editor
    "The %(year)s calendar of %(name)s is not complete: deadlines in %(year)s count Monday to Friday only, so "
    "swipes around its holidays will be flagged late for nothing.":
        "%(name)s的%(year)s年日历尚未完成：%(year)s年的到账时间只按周一至周五计算，节假日前后的交易会被误判为延迟。",
    "Fill in %(year)s": "填写%(year)s年",
    "Calendar %(name)s: %(year)s": "日历 %(name)s：%(year)s年",
    "complete": "已完成",
    "not complete": "未完成",
    "Until this year is marked complete, deadlines falling in it use Monday to Friday as business days and its "
    "days below are not used.": "在标记为完成之前，该年度的到账时间按周一至周五计算，下方的日期暂不生效。",
    "holiday": "节假日",
    "make-up working day (调休)": "调休上班",
    "weekend": "周末",
    "library's guess, not entered": "程序库推测，尚未录入",
    "changed by the notice": "通知带来的变化",
    "guess": "推测",
    "Preview: the notice gives %(h)s holidays and %(w)s make-up working days; %(n)s days change. Nothing is saved "
    "yet.": "预览：通知包含%(h)s天节假日和%(w)s天调休上班，共%(n)s天有变化。尚未保存。",
    "Fill the year from the State Council's notice": "根据国务院通知填写本年度",
    "Paste the text of 国务院办公厅关于部分节假日安排的通知:": "粘贴《国务院办公厅关于部分节假日安排的通知》全文：",
    "Use the made-up 2027 notice of the demo data (not a real notice)": "使用演示数据中虚构的2027年通知（并非真实通知）",
    "Preview": "预览",
    "and mark the year complete": "并将本年度标记为完成",
    "Replace this year with the notice? Deadlines will be recomputed.": "用通知内容替换本年度吗？到账时间将重新计算。",
    "Save these days": "保存这些日期",
    "Mark the year incomplete? Deadlines fall back to Monday to Friday.": "将本年度标记为未完成吗？到账时间将按周一至周五计算。",
    "Mark the year incomplete": "标记为未完成",
    "Mark the year complete? Deadlines of in-flight swipes will be recomputed.": "将本年度标记为完成吗？在途交易的到账时间将重新计算。",
    "Mark the year complete": "标记为完成",
    "Year marked complete: deadlines are being recomputed.": "已标记为完成：正在重新计算到账时间。",
    "Year marked incomplete.": "已标记为未完成。",
    "%(h)s holidays and %(w)s make-up working days saved.": "已保存%(h)s天节假日和%(w)s天调休上班。",
    "This notice is for %(y)s.": "这份通知是%(y)s年的。",
    "That day is not in this year.": "该日期不在本年度内。",
    "Not a date.": "不是有效日期。",
    "A day is a holiday, a workday or ordinary.": "日期类型只能是节假日、调休上班或普通日。",
    "Every day must lie in %(year)s.": "所有日期都必须在%(year)s年内。",
    # holiday plans
    "Holiday settlement plan": "节假日到账安排",
    "The dates told, in the merchant's own cycle": "按商户自己的结算周期告知的日期",
    "%(m)s/%(d)s": "%(m)s月%(d)s日",
    "Holiday settlement plan: %(name)s": "节假日到账安排：%(name)s",
    "Updated: %(title)s": "更新：%(title)s",
    "Holiday settlement plan: card payments taken %(from)s–%(to)s will arrive by %(last)s.":
        "节假日到账安排：%(from)s–%(to)s刷卡的款项，将于%(last)s前到账。",
    "Holiday settlement plan: card payments taken %(from)s–%(to)s arrive as usual, the first by %(first)s and the "
    "last by %(last)s.": "节假日到账安排：%(from)s–%(to)s刷卡的款项照常到账，最早%(first)s前、最晚%(last)s前到账。",
    "When the period began and the merchant was told its money in transit": "假期开始、告知商户在途款项的时间",
    "The %(name)s holiday has begun: %(n)s of your card payments (%(amount)s) are on their way and will all have "
    "arrived by %(by)s.": "%(name)s假期已开始：您有%(n)s笔刷卡款（%(amount)s）在途，将于%(by)s前全部到账。",
    "Mon": "一", "Tue": "二", "Wed": "三", "Thu": "四", "Fri": "五", "Sat": "六", "Sun": "日",
}
