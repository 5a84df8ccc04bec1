"""Chinese for h13's texts: the staff merchant page, invitations with a mobile number,
and owners managing their team (merged by translations_zh_hans.py)."""

ZH = {
    # mobile number at invitation
    "Enter a mainland China mobile number: 11 digits starting with 1, e.g. 138 0013 8000 (+86 may be left out).":
        "请输入中国大陆手机号：以 1 开头的 11 位数字，例如 138 0013 8000（可不加 +86）。",
    "This mobile number already logs another user in.": "该手机号已被其他用户用于登录。",
    "Choose owner or cashier.": "请选择店主或收银员。",
    "Their mobile number (optional, for logging in by SMS code)": "对方手机号（选填，用于短信验证码登录）",
    "Role": "角色",
    # the owner's team page
    "This is the shop's last owner: make another member an owner first.":
        "这是本店最后一位店主：请先将其他成员设为店主。",
    "%(user)s is now: %(role)s.": "%(user)s 现在的角色：%(role)s。",
    "%(user)s was removed from the shop and logged out everywhere.": "已将 %(user)s 移出本店，并在所有设备上退出登录。",
    "you": "您",
    "Role of %(user)s": "%(user)s 的角色",
    "Change role": "更改角色",
    "Remove %(user)s": "移除 %(user)s",
    "Remove": "移除",
    "A removed member is logged out everywhere and their API tokens stop working. A shop always keeps at least one owner.":
        "被移除的成员会在所有设备上退出登录，其 API 令牌随即失效。每家店至少保留一位店主。",
    # the staff merchant page
    "Send this link to the new user by SMS; it works once and is not shown again.":
        "请通过短信将此链接发给新用户；链接只能使用一次，且不会再次显示。",
    "User": "用户",
    "Phone login": "手机登录",
    "Member since": "加入时间",
    "Last login": "上次登录",
    "inactive": "已停用",
    "Nobody can log in for this merchant yet: invite its owner.": "该商户还没有可登录的用户：请邀请店主。",
    "Invitations not used yet": "尚未使用的邀请",
    "Invite a user": "邀请用户",
    "An owner sees everything of the shop and invites cashiers; a cashier sees today's swipes and can find one. "
    "With an email, the link is mailed; without, send the link shown here by SMS.":
        "店主可查看本店全部信息并邀请收银员；收银员只能查看今日刷卡并查找交易。"
        "填写邮箱则链接通过邮件发送；不填则请将此处显示的链接通过短信发送。",
    "It was also emailed to the address given.": "链接也已发送到所填邮箱。",
    "The invitation was not created; please correct the form.": "邀请未创建，请修改表单。",
    "Contact phone on file": "登记的联系电话",
    "Create the invitation": "创建邀请",
    "Merchant number": "商户号",
    "Terminals": "终端",
    "Time zone": "时区",
    "Open cases": "未结工单",
    "Its cases in the queue": "在队列中查看其工单",
}
