"""zh_Hans texts of helper i15b (API tokens, audit trail)."""

ZH = {
    "API tokens": "API 令牌",
    "API tokens for your own software": "给您自己软件用的 API 令牌",
    "A token lets your own software read this shop's data through the merchant API (header <code>Authorization: Token …</code>). It works for %(ttl_days)s days; we keep only a fingerprint of it, so it is shown once.":
        "令牌让您自己的软件通过商户 API 读取本店数据（请求头 <code>Authorization: Token …</code>）。有效期 %(ttl_days)s 天；我们只保存它的指纹，所以只显示这一次。",
    "Your new token. Copy it now: it is not shown again.": "这是您的新令牌。请现在复制：它不会再显示。",
    "Create a token": "创建令牌",
    "created %(made)s, expires %(ends)s": "创建于 %(made)s，%(ends)s 到期",
    "Revoke": "吊销",
    "No tokens.": "没有令牌。",
    "That token does not exist (any more).": "该令牌不存在（或已吊销）。",
    "You already have the most tokens allowed; revoke one first.": "您的令牌已达上限，请先吊销一个。",
    "Too many new tokens this hour; try again later.": "本小时创建的令牌太多，请稍后再试。",
}
