"""Chinese texts of issue 9, swipe-event half: final is final, data-error cases,
poll answers judged like pushes, staff-recorded events."""

ZH = {
    # lifecycle and models
    "Contradicts a final status": "与最终状态矛盾",
    "Raised by a data check": "数据核查发现",
    "Contradicting data received": "收到矛盾数据",
    "Status recorded by staff": "客服登记了状态",
    "Poll answers that failed to apply, in a row": "连续未能处理的查询应答次数",
    # data-error cases (staff case page)
    "The acquirer's data contradicts a final status: the later event was stored, not applied.":
        "收单机构的数据与最终状态矛盾：后来的事件已记录，但未生效。",
    "Contradicting data": "矛盾数据",
    "Final event (applied)": "最终事件（已生效）",
    "Contradicting event (not applied)": "矛盾事件（未生效）",
    "Event id": "事件编号",
    "Reason": "原因",
    "contradicts a final status, not applied": "与最终状态矛盾，未生效",
    # staff-recorded events
    "Record what the bank or acquirer confirmed": "登记银行或收单机构确认的状态",
    "Record status": "登记状态",
    "Confirmed status": "确认的状态",
    "Credited (bank confirmed)": "已到账（银行确认）",
    "Returned by the bank": "被银行退回",
    "Released from hold": "已解除冻结",
    "Bank reference": "银行流水号",
    "Bank reference (if not recorded yet)": "银行流水号（如尚未登记）",
    "Time the bank gave": "银行告知的时间",
    "Reason (for a return)": "原因（退回时填写）",
    "Evidence (who said it, how)": "依据（谁告知、如何告知）",
    "Recorded: the swipe is now %(status)s.": "已登记：该笔交易现为“%(status)s”。",
    "Recorded; it changed nothing: the swipe is %(status)s.": "已登记，但状态未变：该笔交易仍为“%(status)s”。",
    "The text contains a NUL character.": "文字中含有 NUL 字符。",
    "A full card number is not accepted; first 6 + last 4 at most.": "不接受完整卡号，最多填写前 6 位和后 4 位。",
    "%(field)s is longer than %(n)s characters.": "%(field)s 超过 %(n)s 个字符。",
    "Choose what the bank or acquirer confirmed.": "请选择银行或收单机构确认的状态。",
    "A credit needs the bank's reference.": "登记到账需要银行流水号。",
    "A credit needs the time the bank gave.": "登记到账需要银行告知的时间。",
    "A return needs the reason the bank gave.": "登记退回需要银行给出的原因。",
    "The time needs a time zone.": "时间需要带时区。",
    "The time is in the future.": "时间不能晚于现在。",
    "The time is before the swipe was captured.": "时间早于这笔交易的刷卡时间。",
    "Only staff record statuses.": "只有客服可以登记状态。",
    "This case is not about one swipe.": "该工单不是针对单笔交易的。",
    "The swipe is already %(status)s, a final status: it cannot become %(wanted)s. If the bank says otherwise, "
    "note it and escalate.":
        "该笔交易已是“%(status)s”，属于最终状态，不能再改为 %(wanted)s。如银行另有说法，请记录备注并升级处理。",
    "A %(status)s swipe cannot be %(wanted)s: its money has already left.":
        "“%(status)s”的交易不能改为 %(wanted)s：款项已经划出。",
    "The status could not be recorded.": "状态未能登记。",
    "The swipe is not credited: record the credit first, or give the bank's reference and time.":
        "该笔交易尚未到账：请先登记到账，或填写银行流水号和时间。",
    "The swipe is not refunded: record the refund first, or give the time of the refund.":
        "该笔交易尚未退款：请先登记退款，或填写退款时间。",
}

ZH_PLURAL = {
    "The swipe stays %(status)s; %(n)s contradicting event.": "该笔交易保持“%(status)s”；共 %(n)s 个矛盾事件。",
    "Polling %(channel)s (%(code)s): answers could not be applied since %(since)s (%(error)s); %(n)s swipe no "
    "longer polled.":
        "查询 %(channel)s（%(code)s）：自 %(since)s 起应答无法处理（%(error)s）；%(n)s 笔交易已停止查询。",
}
