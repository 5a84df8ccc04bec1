"""Chinese (Simplified) for the merchant dashboard. `python locale/translations_zh_hans.py`
sets these msgstr in locale/zh_Hans/LC_MESSAGES/django.po after `makemessages` (entries
not listed here are left as translators wrote them in the .po), then compilemessages."""

ZH = {
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
    "Case %(ref)s is open (%(status)s): our staff are following it up.": "工单 %(ref)s（%(status)s）：客服正在跟进。",
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
}
ZH_PLURAL = {
    "The %(n)s swipe in this credit": "本次到账包含的 %(n)s 笔交易",
    "%(n)s swipe": "%(n)s 笔",
    "%(n)s unread": "%(n)s 条未读",
    "%(n)s swipe found": "找到 %(n)s 笔交易",
}


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
            keep = [ln for ln in lines if not ln.startswith("msgstr") and ln != "#, fuzzy"]
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
