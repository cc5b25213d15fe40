"""English and Chinese for the console. The language is the ``candor_lang`` cookie (set by the
switch in the header), else the best of ``Accept-Language``, else English."""

from __future__ import annotations

from collections.abc import Callable

LANGS = ("en", "zh")
LANG_COOKIE = "candor_lang"

# key: (English, Chinese)
MESSAGES: dict[str, tuple[str, str]] = {
    "title": ("Candor console", "Candor 控制台"),
    "signin": ("Sign in", "登录"),
    "signout": ("Sign out", "退出"),
    "signin_help": ("Sign in with the auditor key (read only) or the admin key (read and act).",
                    "使用审计员密钥（只读）或管理员密钥（可读可操作）登录。"),
    "key": ("Key", "密钥"),
    "bad_key": ("That key is neither the admin key nor the auditor key.", "该密钥既不是管理员密钥也不是审计员密钥。"),
    "console_disabled": ("The console is disabled: set the admin or auditor key in the proxy's environment.",
                         "控制台未启用：请在代理的环境变量中设置管理员或审计员密钥。"),
    "signed_in_as": ("Signed in as", "当前身份"),
    "role_admin": ("admin", "管理员"), "role_auditor": ("auditor (read only)", "审计员（只读）"),
    "nav_overview": ("Overview", "概览"), "nav_events": ("Events", "事件"), "nav_integrity": ("Integrity", "完整性"),
    "nav_report": ("Report", "报告"), "nav_ops": ("Operations", "运营"),
    "period": ("Period", "时间段"), "since": ("From", "开始"), "until": ("To", "结束"),
    "by": ("Per", "粒度"), "by_hour": ("hour", "小时"), "by_day": ("day", "天"), "apply": ("Apply", "应用"),
    "ch_traffic": ("Exchanges and refusals by code", "对话与按代码分类的拒绝"),
    "ch_notices": ("Notices delivered by kind", "按类型发送的提示"),
    "ch_crisis": ("Crises by level", "按级别的危机"),
    "ch_categories": ("Crises by category", "按类别的危机"),
    "ch_alerts": ("Crisis alert outcome", "危机告警结果"),
    "ch_changes": ("Consent and persona changes", "授权与角色变更"),
    "ch_labels": ("Labels: delegations and unlabelled deliveries", "标识：委托与未加标识的交付"),
    "complaints": ("Complaints open and overdue", "未处理与逾期投诉"),
    "complaints_counts": ("Open / overdue", "未处理 / 逾期"),
    "not_available": ("not available", "不可用"),
    "complaints_na": ("This Candor has no complaints feature yet, so there is nothing to show.",
                      "此版本的 Candor 尚无投诉功能，因此无可显示的数据。"),
    "integrity": ("Integrity", "完整性"), "last_verify": ("Last verify", "上次校验"),
    "never": ("not run since this process started", "本进程启动后尚未运行"),
    "anchors": ("Anchor file", "锚定文件"),
    "anchor_none": ("not configured (audit.anchor_file)", "未配置（audit.anchor_file）"),
    "receipts": ("Receipts", "回执"), "signed_checkpoints": ("signed checkpoints", "签名检查点"),
    "purge_anchors": ("purge anchors", "清除锚点"), "lines": ("lines", "行"),
    "receipts_na": ("kept by the auditor, not here: download one on the Integrity page",
                    "由审计方保存，不在此处：请在完整性页面下载"),
    "streams": ("Streams", "数据流"), "events": ("Events", "事件"),
    "no_data": ("no events in this period", "该时间段无事件"),
    "totals": ("Events in the period", "该时间段的事件"),
    "filter": ("Filter", "筛选"), "user": ("User", "用户"), "session": ("Session", "会话"), "kind": ("Kind", "类型"),
    "requirement": ("Requirement ID", "要求编号"), "decision": ("Decision", "决定"), "persona": ("Persona", "角色"),
    "policy_version": ("Policy or version", "策略或版本"), "time": ("Time", "时间"), "status": ("Status", "状态"),
    "notices": ("Notices", "提示"), "decisions": ("Decisions", "决定"), "next_page": ("Next page", "下一页"),
    "first_page": ("First page", "第一页"),
    "export_jsonl": ("Export JSONL", "导出 JSONL"), "export_csv": ("Export CSV", "导出 CSV"),
    "bundle_na": ("Evidence bundle: not available in this version's audit module",
                  "证据包：此版本的审计模块不提供"),
    "scan_stopped": ("Scanned {n} events without filling the page; continue to look further.",
                     "已扫描 {n} 个事件仍未填满本页；可继续向后查找。"),
    "none_found": ("No event matches.", "没有匹配的事件。"),
    "event": ("Event", "事件"), "chain": ("Chain position", "链位置"), "stream": ("Stream", "数据流"),
    "seq": ("Sequence", "序号"), "hash": ("Hash", "哈希"), "prev_hash": ("Previous hash", "前一哈希"),
    "cites": ("Cites", "引用"), "rule": ("Rule", "规则"), "outcome": ("Outcome", "结果"), "detail": ("Detail", "详情"),
    "content": ("Content", "内容"), "content_admin_only": ("Message content is readable by admins only.",
                                                      "消息内容仅管理员可读。"),
    "content_erased": ("erased", "已擦除"), "content_none": ("none stored", "未存储"),
    "alert_outcome": ("Alert outcome", "告警结果"), "alert_not_raised": ("no alert was raised for this crisis",
                                                                       "此危机未触发告警"),
    "attempts": ("Attempts", "尝试"),
    "st_delivered": ("delivered", "已送达"), "st_pending": ("pending", "待发送"), "st_gave_up": ("given up", "已放弃"),
    "st_failed": ("given up", "已放弃"),
    "run_verify": ("Run verify", "运行校验"), "verify_ok": ("Intact: every hash, chain and signature holds.",
                                                         "完整：所有哈希、链与签名均有效。"),
    "verify_bad": ("TAMPERED: problems found", "已被篡改：发现问题"), "problems": ("Problems", "问题"),
    "receipt_download": ("Download a receipt", "下载回执"),
    "export_bundle": ("Evidence bundle (whole log)", "证据包（完整日志）"),
    "report_title": ("Compliance report (ANTH-ASSESS-2)", "合规报告（ANTH-ASSESS-2）"),
    "print": ("Print or save as PDF", "打印或另存为 PDF"),
    "ops_personas": ("Personas", "角色"), "ops_consents": ("Likeness consents", "肖像授权"),
    "ops_profiles": ("User profiles", "用户档案"), "ops_alerts": ("Alerts outbox", "告警发件箱"),
    "ops_handover": ("Crisis hand-overs", "危机转人工"), "ops_policies": ("Policies", "策略"),
    "revoke": ("Revoke", "撤销"), "add": ("Add", "添加"), "release": ("Release", "解除"),
    "retry": ("Retry now", "立即重试"),
    "history": ("History", "历史"), "disable": ("Disable", "停用"), "enable": ("Enable", "启用"),
    "yes": ("yes", "是"), "no": ("no", "否"), "show": ("Show", "查看"), "save": ("Save", "保存"),
    "read_only": ("Read only: sign in with the admin key to act.", "只读：使用管理员密钥登录后可操作。"),
    "done": ("Done.", "已完成。"), "failed": ("Failed", "失败"),
    "reloads": ("Last reloads and rejected edits", "最近的重新加载与被拒绝的修改"),
    "version": ("Version", "版本"), "explain": ("Explain", "说明"),
    "relationship": ("Relationship", "关系"), "enabled": ("Enabled", "启用"), "subject": ("Subject", "主体"),
    "scopes": ("Scopes", "范围"), "granted_by": ("Granted by", "授权人"), "purpose": ("Purpose", "目的"),
    "valid_from": ("Valid from", "生效"), "valid_until": ("Valid until", "失效"), "id": ("ID", "编号"),
    "display_name": ("Display name", "显示名称"), "reason": ("Reason", "原因"),
    "active_handovers": ("Sessions handed over to a human (paused)", "已转人工（暂停）的会话"),
    "handover_note": ("Release a session by its id when a person has taken over and the user may talk to the "
                      "model again.",
                      "当工作人员已接手、用户可再次与模型对话时，按会话编号解除。"),
    "none": ("none", "无"), "lang": ("中文", "English"),
}


def pick_lang(cookie: str | None, accept: str | None) -> str:
    if cookie in LANGS:
        return cookie
    best, best_q = "en", -1.0
    for part in (accept or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        lang = tag.strip().lower().split("-")[0]
        if lang in LANGS and q > best_q:
            best, best_q = lang, q
    return best


def translator(lang: str) -> Callable[..., str]:
    index = 1 if lang == "zh" else 0

    def t(key: str, **values: object) -> str:
        pair = MESSAGES.get(key)
        text = pair[index] if pair else key
        return text.format(**values) if values else text

    return t
