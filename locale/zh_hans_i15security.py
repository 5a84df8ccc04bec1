"""Chinese for the security work (issue 15): the lockout page and the refusals staff see."""

ZH = {
    "Too many failed logins": "登录失败次数过多",
    "If you forgot your password, ask your shop owner or our support staff to reset it.":
        "如果忘记密码，请联系店主或我们的客服重置。",
    "Do not write a full card number; the last 4 digits are enough.": "请勿填写完整卡号，卡号后4位即可。",
    "The poll URL must use https:// (http:// only for localhost / 127.0.0.1).":
        "查询地址必须使用 https://（仅 localhost / 127.0.0.1 可用 http://）。",
}

ZH_PLURAL = {
    "This account is locked on this network after too many wrong passwords. Try again in %(minutes)s minute.":
        "密码错误次数过多，此账号在当前网络下已被暂时锁定，请 %(minutes)s 分钟后再试。",
}
