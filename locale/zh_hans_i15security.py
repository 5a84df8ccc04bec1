"""Chinese for the security work (issue 15): lockout page, errors."""

ZH = {
    "Too many failed logins": "登录失败次数过多",
    "If you forgot your password, ask your shop owner or our support staff to reset it.":
        "如果忘记密码，请联系店主或我们的客服重置。",
}

ZH_PLURAL = {
    "This account is locked on this network after too many wrong passwords. Try again in %(minutes)s minute.":
        "密码错误次数过多，此账号在当前网络下已被暂时锁定，请 %(minutes)s 分钟后再试。",
}
