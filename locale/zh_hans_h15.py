"""zh_Hans texts of helper h15 (audit nav link, channel rules door)."""

ZH = {
    "Audit trail": "审计记录",
    "Not a settlement rule: %(fields)s.": "不是结算规则：%(fields)s。",
}
