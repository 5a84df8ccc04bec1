"""Chinese (Simplified) for the merchant dashboard. `python locale/translations_zh_hans.py`
sets these msgstr in locale/zh_Hans/LC_MESSAGES/django.po after `makemessages` (entries
not listed here are left as translators wrote them in the .po), then compilemessages."""

ZH = {
    "Day off in lieu (调休)": "调休",
    # status names: what a shop owner calls each step
    "Captured": "已刷卡",
    "Cleared": "已清算",
    "Settled": "已结算",
    "Credited": "已到账",
    "Held": "风控冻结",
    "Returned": "银行退回",
    "Reversed": "已撤销",
    "Refunded": "已退款",
    "Released": "已解冻",
    "Found late": "发现延迟",
    "Pending": "待处理",
    "Sent to bank": "已发往银行",
    "Returned by bank": "银行退回",
    "Swipe": "刷卡",
    "Chip": "芯片",
    "Contactless": "闪付",
    "QR code": "扫码",
    # cases and causes
    "Channel outage / network": "渠道故障/网络问题",
    "Bank processing": "银行处理中",
    "Payment-platform settlement": "支付平台结算中",
    "Clearing-house processing": "清算机构处理中",
    "Holiday / peak backlog": "节假日/高峰积压",
    "Wrong settlement account": "结算账户有误",
    "Risk-control hold": "风控冻结",
    "Data error": "数据错误",
    "Not yet known": "正在核实",
    "Open": "已受理",
    "Resolved": "已解决",
    "In progress": "处理中",
    "Escalated": "已升级处理",
    "Found late by the system": "系统发现延迟",
    "Merchant inquiry": "商户咨询",
    "Opened by staff": "客服创建",
    "Credited late": "延迟到账",
    "Compensated": "已补偿",
    "Account corrected and re-paid": "账户已更正并重新打款",
    "No fault found": "未发现问题",
    "Opened": "已创建",
    "Claimed": "客服已接手",
    "Assigned": "已分配",
    "Note": "备注",
    "Contact with acquirer/bank": "已联系收单机构/银行",
    "Follow-up set": "已安排跟进",
    "Cause updated": "原因已更新",
    "Message from merchant": "商户留言",
    "Reply to merchant": "客服回复",
    "Reopened": "重新打开",
    "Payment late": "款项延迟",
    "Payment arrived": "款项已到账",
    "Update on your inquiry": "咨询有新进展",
    "Active": "正常",
    "Suspended": "已暂停",
    "Risk-frozen": "风控冻结",
    "Owner": "店主",
    "Cashier": "收银员",
    # arrival in plain words
    "postponed over the %(holiday)s holiday": "%(holiday)s假期顺延",
    "postponed over the holiday": "节假日顺延",
    "postponed over the weekend": "周末顺延",
    "arrived %(when)s": "已于 %(when)s 到账",
    "no money due: the payment was %(status)s": "无需到账：该笔交易%(status)s",
    "late: was expected by %(when)s": "已延迟，原预计 %(when)s 前到账",
    "expected by %(when)s": "预计 %(when)s 前到账",
    "%(cycle)s, %(reason)s": "%(cycle)s，%(reason)s",
    "holiday dates for that year not yet announced": "该年节假日安排尚未公布",
    "%(expected)s: %(detail)s": "%(expected)s：%(detail)s",
    # forms, messages
    "Enter an amount like 1280.00.": "请输入金额，例如 1280.00。",
    "Reference number (on the slip)": "参考号（小票上）",
    "Amount": "金额",
    "Card last 4 digits": "卡号后4位",
    "Enter exactly 4 digits.": "请输入4位数字。",
    "Terminal": "终端",
    "Status": "状态",
    "From": "开始日期",
    "To": "结束日期",
    "Any terminal": "全部终端",
    "Any status": "全部状态",
    "The end date is before the start date.": "结束日期早于开始日期。",
    "Export at most one year at a time.": "每次最多导出一年。",
    "What is wrong?": "遇到了什么问题？",
    "Please write a short message (at most 2000 characters).": "请简单描述问题（最多2000字）。",
    "Your message was added to case %(ref)s.": "您的留言已加入工单 %(ref)s。",
    "We opened case %(ref)s and will get back to you.": "已为您创建工单 %(ref)s，我们会尽快回复。",
    "Please do not write a full card number; the last 4 digits are enough.": "请不要填写完整卡号，后4位即可。",
    "Please say what is wrong.": "请说明遇到的问题。",
    "That did not work; please try again.": "操作未成功，请重试。",
    # CSV header
    "Reference": "参考号",
    "Time": "时间",
    "Fee": "手续费",
    "Net": "实收",
    "Card": "卡号",
    "Expected by": "预计到账",
    "Arrived at": "到账时间",
    "Bank credit": "银行入账",
    # pages
    "Settlement tracking": "到账追踪",
    "到账追踪 Settlement tracking": "到账追踪",
    "My shop": "我的店铺",
    "Log out": "退出",
    "Log in": "登录",
    "Language": "语言",
    "Bank credits": "到账记录",
    "Sent": "发出时间",
    "Arrived": "到账时间",
    "Account": "结算账户",
    "Swiped at": "刷卡时间",
    "Total": "合计",
    "Credited to your bank": "银行实际入账",
    "Difference: does not add up, ask us about it": "差额：金额对不上，请向我们咨询",
    "Ask about this bank credit": "咨询这笔到账",
    "Ask about it": "提交咨询",
    "Each line of your bank statement, and the swipes it pays for.": "银行流水的每一笔入账，以及它包含的刷卡交易。",
    "does not add up": "金额对不上",
    "No bank credits yet.": "暂无到账记录。",
    "Showing the latest 100.": "仅显示最近100条。",
    "Shop": "店铺",
    "Switch": "切换",
    "Dashboard sections": "功能导航",
    "Today": "今天",
    "Find a swipe": "查交易",
    "My questions": "我的咨询",
    "Messages": "消息",
    "Export": "导出",
    "Case %(ref)s": "工单 %(ref)s",
    "We will update you by %(when)s": "将在 %(when)s 前给您答复",
    "Likely cause": "可能原因",
    "Outcome": "处理结果",
    "Progress": "处理进度",
    "You": "您",
    "Support": "客服",
    "Add a message": "补充留言",
    "Send": "发送",
    "Late payments we are following up, and the questions you asked.": "我们正在跟进的延迟款项，以及您提出的咨询。",
    "Nothing open. If a payment is late, we will tell you here.": "暂无咨询。如有款项延迟，我们会在这里通知您。",
    "Export swipes": "导出交易",
    "A CSV file that opens in Excel, one line per swipe.": "CSV 文件，可用 Excel 打开，每笔交易一行。",
    "Download CSV": "下载 CSV",
    "Find a swipe by the reference number on the slip": "按小票上的参考号查交易",
    "e.g. 100001000012": "例如 100001000012",
    "Find": "查找",
    "No shop linked to this account": "此账号未关联店铺",
    "Your login is not linked to any shop yet. Please contact support.": "您的账号尚未关联任何店铺，请联系客服。",
    "Mark all as read": "全部标为已读",
    "This payment is late. We are following it up.": "这笔款项延迟了，我们正在跟进。",
    "This payment has arrived in your bank account.": "这笔款项已到账。",
    "There is news on your question.": "您的咨询有新进展。",
    "Case %(ref)s.": "工单 %(ref)s。",
    "No messages.": "暂无消息。",
    "Swiped": "刷卡金额",
    "Arrived in your bank": "已到账",
    "On its way": "在途",
    "all expected by %(when)s": "预计 %(when)s 前全部到账",
    "Late": "延迟",
    "Updated %(t)s; refreshes by itself.": "%(t)s 更新，页面自动刷新。",
    "Late payments": "延迟款项",
    "Case %(ref)s: we are on it.": "工单 %(ref)s：我们正在处理。",
    "New estimate: by %(when)s": "新的预计时间：%(when)s 前",
    "We are looking into it.": "我们正在核实。",
    "Latest swipes": "最近交易",
    "All swipes": "全部交易",
    "Ref.": "参考号",
    "No swipes found.": "没有找到交易。",
    "Reference number": "参考号",
    "You receive": "实收金额",
    "What happened": "交易进度",
    "Next": "下一步",
    "Ask about this payment": "咨询这笔交易",
    "Case %(ref)s (%(status)s): our staff are following it up.": "工单 %(ref)s（%(status)s）：客服正在跟进。",
    "See progress": "查看进度",
    "e.g. This money has not arrived yet.": "例如：这笔钱还没到账。",
    "Search": "查询",
    "Clear": "清除",
    "Showing the first 100. Narrow the search to see the rest.": "仅显示前100条，请缩小查询范围。",
    "Your username and password didn't match. Please try again.": "用户名或密码不正确，请重试。",
    "Username": "用户名",
    "Password": "密码",
    "Running": "运行状态",
    "Database": "数据库",
    "Admin": "管理后台",
    "API docs": "API 文档",
    "Demo logins": "演示账号",
    "Swipes by status": "各状态交易数",
    "Channels": "渠道",
    "Code": "代码",
    "Name": "名称",
    "Health": "健康状况",
    "No channels yet.": "暂无渠道。",
    "Up": "正常",
    "Degraded": "不稳定",
    "Down": "中断",
    "Follows every card swipe from capture to the moment the money reaches the merchant's bank account (到账).":
        "跟踪每一笔刷卡，从刷卡到款项进入商户银行账户（到账）。",
    "Your session ended after 15 minutes without activity. Please log in again.": "15分钟无操作，已自动退出，请重新登录。",
    # --- staff side (issue 5): channels, calendars, models (admin help texts, choices)
    "The official schedule (holidays and 调休) is entered.": "已录入官方节假日安排（含调休）。",
    "Holiday (day off)": "节假日（休息）",
    "Make-up working day (调休)": "调休上班日",
    "T1/D1 money arrives by": "T1/D1 到账截止时间",
    "T0/D0 next-morning start": "T0/D0 次日起算时间",
    "Before a swipe is late": "超过预计到账多少分钟判定为延迟（宽限）",
    "The worker's hostname": "工作进程的主机名",
    "Fee in basis points: 60 = 0.60%": "手续费率（基点）：60 = 0.60%",
    "Applied": "已生效",
    "Stale": "已过时",
    "Duplicate": "重复",
    "Rejected": "已拒绝",
    "Earliest overdue_at of its cases": "所含工单中最早的逾期时间（overdue_at）",
    "Shown to merchants, e.g. C2611-000123": "向商户展示，例如 C2611-000123",
    "How late it arrived": "延迟到账时长",
    "The acquirer's RRN / trace number": "收单机构的检索参考号（RRN）/流水号",
    "Where a held swipe returns": "风控解冻后恢复的状态",
    "When the money should be in the bank account": "款项应到达银行账户的时间",
    "expected_by + the channel's grace: late after this": "预计到账时间 + 渠道宽限时间：超过即判定延迟",
    "expected_by used a year with no holiday data (Mon-Fri fallback)":
        "计算预计到账时间时该年无节假日数据（按周一至周五计算）",
    "Pushed by acquirer": "收单机构推送",
    "Learned by polling": "主动查询获知",
    "Staff": "客服",
    "System": "系统",
    "External id, unique per channel": "外部编号，同一渠道内唯一",
    "Weekend": "周末",
    # --- staff actions on a case (settlement/services/cases.py, settlement/staff/views.py)
    "This case is already resolved.": "该工单已结案。",
    "You already hold this case.": "该工单已由您处理。",
    "%(user)s claimed this case first.": "%(user)s 已先接手该工单。",
    "Cases can only be assigned to staff.": "工单只能分配给客服人员。",
    "A note needs some text.": "备注内容不能为空。",
    "Say who was contacted.": "请填写联系对象。",
    "The follow-up time needs a time zone.": "跟进时间须带时区。",
    "Only open or in-progress cases can be escalated.": "只有已受理或处理中的工单才能升级。",
    "Choose an outcome.": "请选择处理结果。",
    "This incident is already resolved.": "该渠道异常已解除。",
    "Resolved with its channel incident.": "随渠道异常解除一并结案。",
    "Channel incident resolved; re-check this swipe.": "渠道异常已解除，请复核这笔交易。",
    "You claimed this case.": "您已接手该工单。",
    "Assigned to %(user)s.": "已分配给 %(user)s。",
    "Note added.": "备注已添加。",
    "Contact recorded.": "联系记录已保存。",
    "Follow-up time set.": "跟进时间已设置。",
    "Case escalated.": "工单已升级。",
    "Case resolved.": "工单已结案。",
    "Incident resolved; %(n)s case(s) back in the queue.": "渠道异常已解除，%(n)s 个工单已退回队列。",
    # --- suggested causes and their evidence (settlement/services/causes.py)
    "The acquirer reported the swipe held by risk control.": "收单机构反馈该笔交易被风控冻结。",
    "The bank returned the credit (e.g. wrong settlement account).": "银行退回了入账款项（如结算账户有误）。",
    "The channel's status polls are failing.": "该渠道的状态查询持续失败。",
    "The payout amount differs from the sum of its swipes.": "划款金额与所含交易的实收合计不符。",
    "The settlement window spans a public holiday.": "结算周期内有法定节假日。",
    "Many swipes of this channel became late at the same time.": "该渠道大量交易同时出现延迟。",
    "Settled by the acquirer, not yet credited by the bank.": "收单机构已结算，银行尚未入账。",
    "Cleared, not yet settled by the payment platform.": "已清算，支付平台尚未结算。",
    "Captured, not yet cleared by the clearing house.": "已刷卡，清算机构尚未清算。",
    "Nothing known points to a cause yet.": "暂无线索指向具体原因。",
    "Status when found late: %(s)s": "发现延迟时的状态：%(s)s",
    "Channel health: %(h)s, %(n)s consecutive failed polls": "渠道状况：%(h)s，状态查询连续失败 %(n)s 次",
    "Last poll error: %(e)s": "最近一次查询错误：%(e)s",
    "Holiday in the window: %(day)s %(name)s": "结算周期内的节假日：%(day)s %(name)s",
    "%(n)s swipes of the channel late in the same window": "该渠道同一时段内有 %(n)s 笔交易延迟",
    "Payout %(ref)s: amount %(a)s, sum of swipes %(s)s": "划款 %(ref)s：金额 %(a)s，所含交易合计 %(s)s",
    "Expected arrival used a year with no holiday data (Mon-Fri fallback).":
        "预计到账时间所在年份暂无节假日数据（按周一至周五工作日计算）。",
    # --- merchant notifications and emails (settlement/services/notifications.py)
    "Payment %(amount)s is late": "款项 %(amount)s 延迟到账",
    "Your card payment %(amount)s (reference %(reference)s) was expected in your bank account by "
    "%(expected_by)s and has not arrived yet. We are following it up with the acquirer. "
    "New estimate: %(new_estimate)s. Case reference: %(case)s.":
        "您的刷卡款项 %(amount)s（参考号 %(reference)s）原预计 %(expected_by)s 前到账，目前尚未到账。"
        "我们正在与收单机构跟进。新的预计到账时间：%(new_estimate)s。工单号：%(case)s。",
    "Payment %(amount)s has arrived": "款项 %(amount)s 已到账",
    "Your card payment %(amount)s (reference %(reference)s) was credited to your bank account at "
    "%(credited_at)s, %(delay_hours)s hours later than expected. Case %(case)s is closed. "
    "Sorry for the wait.":
        "您的刷卡款项 %(amount)s（参考号 %(reference)s）已于 %(credited_at)s 到账，比预计晚了 %(delay_hours)s 小时。"
        "工单 %(case)s 已关闭。抱歉让您久等了。",
    "Update on your inquiry %(case)s": "您的咨询 %(case)s 有新进展",
    # --- staff queue (templates/settlement/staff/queue.html, _queue.html, settlement/staff/forms.py)
    "Follow-up queue": "跟进队列",
    "Late payments: follow-up queue": "延迟款项跟进队列",
    "Queue": "工单队列",
    "Channel": "渠道",
    "Any channel": "全部渠道",
    "Cause": "原因",
    "Any cause": "全部原因",
    "Merchant no.": "商户号",
    "Age (days)": "工单时长（天）",
    "Any age": "不限",
    "Unresolved": "未结案",
    "Filter": "筛选",
    "at stake": "待到账",
    "Channel incidents": "渠道异常",
    "Since": "开始时间",
    "Cases": "工单数",
    "At stake": "涉及金额",
    "Case": "工单",
    "Merchant": "商户",
    "SLA due": "SLA 时限",
    "Assignee": "处理人",
    "SLA breached": "已超 SLA 时限",
    "No cases match.": "没有符合条件的工单。",
    "Previous": "上一页",
    "Page %(n)s of %(total)s": "第 %(n)s 页，共 %(total)s 页",
    "late after": "逾期时间",
    # --- case page (templates/settlement/staff/case.html)
    "SLA breached: was due %(due)s": "已超 SLA 时限：应于 %(due)s 前处理",
    "Summary": "概况",
    "Amount at stake": "涉及金额",
    "Incident": "渠道异常",
    "Follow up at": "跟进时间",
    "arrived %(hours)s h late": "延迟 %(hours)s 小时到账",
    "Suggested cause": "初步判断原因",
    "Contact": "联系方式",
    "Settlement account": "结算账户",
    "Cycle": "结算周期",
    "Expected arrival": "预计到账",
    "after the cut-off": "晚于日切",
    "Cycle / business date": "结算周期 / 业务日期",
    "min grace": "分钟宽限",
    "Skipped days": "顺延日期",
    "Calendar": "节假日日历",
    "No holiday data for that year: Monday-Friday assumed.": "该年暂无节假日数据：按周一至周五工作日计算。",
    "Timeline": "时间线",
    "Event": "事件",
    "Source": "来源",
    "Happened": "发生时间",
    "Learned": "获知时间",
    "stale": "过时，未生效",
    "No events.": "暂无事件。",
    "History": "处理记录",
    "system": "系统",
    "With": "联系对象",
    "ref.": "编号",
    "Actions": "操作",
    "Claim": "接手",
    "Assign": "分配",
    "Assign to": "分配给",
    "Add note": "添加备注",
    "Record contact": "记录联系",
    "Who (acquirer / bank, person)": "联系对象（收单机构/银行、联系人）",
    "When": "联系时间",
    "What was said": "沟通内容",
    "Their reference no.": "对方受理编号",
    "Set follow-up": "设置跟进时间",
    "Escalate": "升级",
    "Why": "升级原因",
    "Resolve": "结案",
    # --- channel incident page (templates/settlement/staff/incident.html)
    "Channel incident": "渠道异常",
    "since": "开始于",
    "open cases": "个未结工单",
    "channel health": "渠道状况",
    "Resolving closes the cases whose money arrived and sends the others back to the queue for a re-check.":
        "解除后，款项已到账的工单自动结案，其余工单退回队列重新核查。",
    "Resolve incident": "解除异常",
}
ZH_PLURAL = {
    "The %(n)s swipe in this credit": "本次到账包含的 %(n)s 笔交易",
    "%(n)s swipe": "%(n)s 笔",
    "%(n)s unread": "%(n)s 条未读",
    "%(n)s swipe found": "找到 %(n)s 笔交易",
    # staff queue
    "%(n)s case": "%(n)s 个工单",
    "%(n)s swipe at risk (not late yet)": "%(n)s 笔交易有延迟风险（尚未延迟）",
}


def _merge_topic_tables() -> None:
    """Each topic keeps its own `locale/zh_hans_<topic>.py` (ZH, optional ZH_PLURAL), so
    parallel work on different topics never edits the same dict."""
    import importlib.util
    import pathlib

    for path in sorted(pathlib.Path(__file__).parent.glob("zh_hans_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        ZH.update(getattr(module, "ZH", {}))
        ZH_PLURAL.update(getattr(module, "ZH_PLURAL", {}))


_merge_topic_tables()


def _unquote(line: str) -> str:
    body = line[line.index('"') + 1 : line.rindex('"')]
    return body.encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1").decode("utf-8") if "\\" in body else body


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def fill(path: str) -> int:
    blocks = open(path, encoding="utf-8").read().split("\n\n")
    filled = 0
    out = []
    for block in blocks:
        lines = block.split("\n")
        msgid, plural, key = [], None, None
        for line in lines:
            if line.startswith("msgid_plural"):
                plural = True
                key = "plural"
            elif line.startswith("msgid "):
                key = "msgid"
                msgid.append(_unquote(line))
            elif line.startswith("msgstr"):
                key = "msgstr"
            elif line.startswith('"') and key == "msgid":
                msgid.append(_unquote(line))
        text = "".join(msgid)
        table = ZH_PLURAL if plural else ZH
        tail = [ln for ln in lines if ln]
        has_msgstr = any(ln.startswith("msgstr") for ln in tail)
        if text and text in table and has_msgstr and not any(ln.startswith("#~") for ln in tail):
            # drop the old msgstr (with any wrapped continuation lines), the previous-msgid
            # comments and the fuzzy flag: a fuzzy entry is not compiled
            keep, in_msgstr = [], False
            for ln in lines:
                if ln.startswith("msgstr"):
                    in_msgstr = True
                elif in_msgstr and ln.startswith('"'):
                    continue
                else:
                    in_msgstr = False
                    if ln.startswith("#|"):
                        continue
                    if ln.startswith("#,"):
                        flags = [f.strip() for f in ln[2:].split(",") if f.strip() != "fuzzy"]
                        if flags:
                            keep.append("#, " + ", ".join(flags))
                        continue
                    keep.append(ln)
            keep.append(("msgstr[0] " if plural else "msgstr ") + _quote(table[text]))
            lines = keep
            filled += 1
        out.append("\n".join(lines))
    open(path, "w", encoding="utf-8").write("\n\n".join(out))
    return filled


if __name__ == "__main__":
    import pathlib

    po = pathlib.Path(__file__).parent / "zh_Hans" / "LC_MESSAGES" / "django.po"
    print(f"filled {fill(str(po))} entries")
