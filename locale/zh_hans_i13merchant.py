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
    # a way in: invitations, password reset, roles
    "This link is not valid.": "这个链接无效。",
    "This link has already been used. Please log in.": "这个链接已经使用过了，请直接登录。",
    "This link has expired. Please ask for a new one.": "这个链接已过期，请联系我们重新发送。",
    "This username is taken; please choose another.": "这个用户名已被使用，请换一个。",
    "Your login for %(shop)s": "您在 %(shop)s 的登录账号",
    "Open this link to set your password (it works once, for %(hours)s hours):\n%(link)s":
        "请打开下面的链接设置密码（仅可使用一次，%(hours)s 小时内有效）：\n%(link)s",
    "Password (at least 12 characters)": "密码（至少 12 位）",
    "The same password again": "再次输入密码",
    "The two passwords are not the same.": "两次输入的密码不一致。",
    "Their email (optional)": "对方邮箱（可不填）",
    "Send this link to your cashier (by SMS or chat). It works once.": "请把这个链接通过短信或聊天发给收银员，仅可使用一次。",
    "Set your password": "设置密码",
    "This link does not work": "链接无法使用",
    "Welcome to %(shop)s": "欢迎加入 %(shop)s",
    "Choose a username and a password of at least 12 characters.": "请设置用户名和至少 12 位的密码。",
    "Set password and log in": "设置密码并登录",
    "People": "人员",
    "Invite a cashier": "邀请收银员",
    "A cashier sees today's swipes and can find one; not your bank credits, account or exports.":
        "收银员可以查看今天的交易并查找交易，看不到银行入账、结算账户和导出。",
    "We also emailed it.": "也已发送到对方邮箱。",
    "Create an invitation link": "生成邀请链接",
    "Not used yet": "尚未使用",
    "expires %(when)s": "%(when)s 过期",
    "Forgot your password?": "忘记密码？",
    "Reset your password": "重置密码",
    "Enter the email address of your login; we will send a link to set a new password.":
        "请输入账号绑定的邮箱，我们会发送设置新密码的链接。",
    "Email": "邮箱",
    "Send the link": "发送链接",
    "Check your email": "请查收邮件",
    "If that address belongs to a login, a link to set a new password is on its way.":
        "如果这个邮箱绑定了账号，设置新密码的链接已发出。",
    "Set a new password": "设置新密码",
    "Set password": "设置密码",
    "It was used already or has expired.": "链接已使用或已过期。",
    "Ask for a new one": "重新获取",
    "Your password is set": "密码已设置",
    "Enter a mobile number, e.g. 13800138000.": "请输入手机号，例如 13800138000。",
    "A code was just sent; please wait a minute.": "验证码刚刚已发送，请一分钟后再试。",
    "Too many codes for this number; please try again later.": "该号码获取验证码次数过多，请稍后再试。",
    "Your login code is %(code)s, valid for 5 minutes. Do not tell anyone.": "您的登录验证码为 %(code)s，5 分钟内有效，请勿告诉他人。",
    "Too many failed attempts; please try again later.": "失败次数过多，请稍后再试。",
    "That code is not right or has expired.": "验证码不正确或已过期。",
    "Log in with your phone number": "手机号验证码登录",
    "Mobile number": "手机号",
    "If this number belongs to a login, we have sent it a 6-digit code.": "如果该号码已绑定账号，我们已发送 6 位验证码。",
    "Code": "验证码",
    "Send me a code": "获取验证码",
    "Log in with a password": "用密码登录",
    "Digits only, with the country code: 8613800138000": "仅数字，含国家代码：8613800138000",
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
