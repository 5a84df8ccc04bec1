"""zh_Hans texts of the outbox, supervisor and health work (helper i14run)."""

ZH = {
    "When the email was sent": "邮件发送时间",
    "When the sweeper may (re)try the email; while a sender holds it, the end of its lease. "
    "Empty once sent or given up.": "补发任务可以（再次）发送邮件的时间；发送中时为占用到期时间。已发送或已放弃时为空。",
    "The same checks as /healthz, run now.": "与 /healthz 相同的检查，此刻实时运行。",
    "Check": "检查项",
    "Details": "详情",
    "Part of the app is down": "部分服务已停止",
    "Restarting (see the terminal running make run):": "正在重启（详见运行 make run 的终端）：",
    "The process supervisor is not running.": "进程守护程序未在运行。",
    "Processes": "进程",
}
