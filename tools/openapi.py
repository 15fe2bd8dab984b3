#!/usr/bin/env python3
"""Writes crates/yuqing-web/assets/openapi.json (OpenAPI 3.1) from the table below.

Edit the table when a route changes, run `python3 tools/openapi.py`, commit both. The
test `crates/yuqing-web/tests/openapi.rs` fails when a route of the router is missing
here or a path here is not routed.
"""
import json, pathlib

AUTH = "会话 Cookie（写操作带 X-CSRF-Token）或 Authorization: Bearer <API 令牌> / session cookie (writes carry X-CSRF-Token) or Authorization: Bearer <API token>"
PUSH = "Authorization: Bearer <推送令牌或 API 令牌> / a push token or an API token"

# (method, path, tag, summary zh, summary en, auth, params: [(name, in, desc)], body?,
#  responses? {status: description} added to or replacing the common ones)
R = [
 ("post", "/api/v1/login", "access", "登录", "log in; sets the session cookie", None, [], "{user, password}"),
 ("post", "/api/v1/logout", "access", "退出", "log out", AUTH, [], None),
 ("get", "/api/v1/me", "access", "当前用户", "the current user, roles and CSRF token", AUTH, [], None),
 ("post", "/api/v1/password", "access", "修改密码", "change one's password", AUTH, [], "{old, new}"),
 ("get", "/api/v1/tokens", "access", "我的 API 令牌", "one's API tokens", AUTH, [], None),
 ("post", "/api/v1/tokens", "access", "新建 API 令牌（只显示一次）", "create an API token (shown once)", AUTH, [], "{name}"),
 ("delete", "/api/v1/tokens/{id}", "access", "吊销令牌", "revoke a token", AUTH, [("id", "path", "token id")], None),
 ("post", "/api/v1/users/{id}/password-reset", "access", "重置用户密码（系统管理员；返回只显示一次的一次性密码，下次登录须修改）", "reset a user's password (administrators): returns a one-time password, shown once, to be changed at the next login", AUTH, [("id", "path", "user id")], None),
 ("post", "/api/v1/documents", "documents", "推送文档（JSON 数组或 NDJSON）", "push documents (JSON array or NDJSON)", PUSH, [], "documents in the interchange format"),
 ("get", "/api/v1/documents/{platform}/{id}", "documents", "一条文档及研判结果", "a stored document with its judgement", AUTH, [("platform", "path", ""), ("id", "path", "")], None),
 ("post", "/api/v1/documents/{platform}/{id}/corrections", "documents", "人工修正情感或内容类型", "correct sentiment or content type", AUTH, [("platform", "path", ""), ("id", "path", "")], "{sentiment?, content_type?, note?}"),
 ("get", "/api/v1/search", "search", "全文检索：关键词（子串匹配）或监测方案表达式；表达式有误时 400 并给出位置", "full-text search: a plain word (substring semantics) or a plan expression; a malformed expression is a 400 with its position", AUTH, [("q", "query", "a word, or a plan expression such as 学校+(食堂|食品)-谣言"), ("platform", "query", ""), ("sentiment", "query", ""), ("level", "query", "minimum level"), ("plan", "query", "plan id"), ("region", "query", "author location prefix"), ("kind", "query", ""), ("since", "query", ""), ("until", "query", ""), ("verified", "query", ""), ("sort", "query", "relevance|time|time_asc"), ("limit", "query", ""), ("offset", "query", "")], None),
 ("get", "/api/v1/count", "search", "计数", "number of documents matching q (a word or a plan expression)", AUTH, [("q", "query", "")], None),
 ("get", "/api/v1/events", "events", "事件列表（按严重程度）", "events, most serious first", AUTH, [("limit", "query", ""), ("offset", "query", ""), ("min_level", "query", ""), ("min_documents", "query", "")], None),
 ("get", "/api/v1/events/{id}", "events", "事件分析", "the event analysis", AUTH, [("id", "path", "")], None),
 ("put", "/api/v1/events/{id}/level", "events", "人工定级", "set a level by hand", AUTH, [("id", "path", "")], "{level, reason}"),
 ("get", "/api/v1/plans", "plans", "监测方案", "monitoring plans with hits and spike", AUTH, [], None),
 ("post", "/api/v1/plans", "plans", "新建或替换方案", "create or replace a plan", AUTH, [], "{name, expression | region/subject/event/exclusion, active?}"),
 ("patch", "/api/v1/plans/{id}", "plans", "启用/停用", "switch a plan on or off", AUTH, [("id", "path", "")], "{active}"),
 ("delete", "/api/v1/plans/{id}", "plans", "删除方案", "delete a plan", AUTH, [("id", "path", "")], None),
 ("get", "/api/v1/plans/{id}/hits", "plans", "方案命中", "documents a plan hit", AUTH, [("id", "path", ""), ("limit", "query", ""), ("before", "query", "")], None),
 ("get", "/api/v1/groups/{id}", "documents", "转载组", "a reprint group", AUTH, [("id", "path", "")], None),
 ("get", "/api/v1/sources", "system", "数据源健康", "source health", AUTH, [], None),
 ("get", "/api/v1/dead-letters", "system", "被拒数据", "rejected inputs", AUTH, [], None),
 ("get", "/api/v1/cases", "cases", "案件列表（本人范围）", "cases in the viewer's scope", AUTH, [("state", "query", ""), ("unit", "query", ""), ("limit", "query", "")], None),
 ("post", "/api/v1/cases", "cases", "登记案件", "register a case", AUTH, [], "{unit, source, title?, …}"),
 ("get", "/api/v1/cases/{id}", "cases", "案件详情、时间线与时限", "a case with timeline and deadlines", AUTH, [("id", "path", "")], None),
 ("post", "/api/v1/cases/{id}/actions", "cases", "办理一步（版本检查，冲突 409）；record_reply 带 mail_to 时同时用邮件把答复发给来信人（需配置 [reply_mail]，否则 503），返回的案件记录发送结果；resend_reply_mail 重新发送", "one workflow step (version-checked; 409 on conflict); record_reply with mail_to also sends the reply by e-mail to the writer ([reply_mail], else 503) and the case returned holds the outcome; resend_reply_mail sends it again", AUTH, [("id", "path", "")], "{expected_version, kind: {type, …}}, e.g. {type: record_reply, channel: letter, text, mail_to?} | {type: resend_reply_mail, reply}"),
 ("post", "/api/v1/cases/{id}/attachments", "cases", "上传附件", "upload an evidence file (raw body)", AUTH, [("id", "path", ""), ("name", "query", ""), ("kind", "query", "text|image|audio|video"), ("expected_version", "query", "")], "the file"),
 ("get", "/api/v1/cases/{id}/attachments/{sha256}", "cases", "下载附件", "download an evidence file", AUTH, [("id", "path", ""), ("sha256", "path", "")], None),
 ("get", "/api/v1/org", "admin", "组织架构（手机号、邮箱、飞书 ID 仅管理员和本人可见）", "units and users (mobile, email and feishu only to administrators and the user)", AUTH, [], None),
 ("put", "/api/v1/org", "admin", "更新组织架构", "update units and users", AUTH, [], "{units, users: [{id, name, grants, mobile?, email?, feishu?}]}"),
 ("get", "/api/v1/duty", "admin", "值班表", "the duty roster", AUTH, [("from", "query", ""), ("to", "query", ""), ("at", "query", "")], None),
 ("post", "/api/v1/duty", "admin", "添加值班", "add duty slots", AUTH, [], "a slot or an array"),
 ("delete", "/api/v1/duty/{id}", "admin", "删除值班", "remove a duty slot", AUTH, [("id", "path", "")], None),
 ("get", "/api/v1/alerts", "alerts", "预警收件箱", "the alert inbox", AUTH, [("unacked", "query", ""), ("since", "query", ""), ("until", "query", ""), ("event", "query", ""), ("limit", "query", "")], None),
 ("get", "/api/v1/alerts/{id}", "alerts", "预警详情与投递记录", "an alert with its delivery log", AUTH, [("id", "path", "")], None),
 ("post", "/api/v1/alerts/{id}/ack", "alerts", "确认预警", "acknowledge an alert", AUTH, [("id", "path", "")], None),
 ("post", "/api/v1/alerts/{id}/verdict", "alerts", "预警研判结论：属实或误报（以最后一次为准，并确认预警）", "a person's verdict on an alert, confirmed or false alarm (the last stands; it acknowledges too)", AUTH, [("id", "path", "")], "{verdict: confirmed | false_alarm, note?}"),
 ("get", "/api/v1/alerts/quality", "alerts", "各监测方案的预警与误报", "per monitoring plan: alerts, confirmed, false alarms, most false alarms first", AUTH, [("since", "query", ""), ("until", "query", "")], None),
 ("get", "/api/v1/audit", "admin", "审计日志", "the audit log (administrators)", AUTH, [("after", "query", ""), ("limit", "query", "")], None),
 ("get", "/api/v1/audit/verify", "admin", "校验审计链", "verify the audit chain", AUTH, [("anchor", "query", "SEQ:HASH")], None),
 ("get", "/api/v1/deadlines", "cases", "本人范围内未结案件的全部时限", "every deadline of the viewer's open cases (the board)", AUTH, [("state", "query", ""), ("limit", "query", "")], None),
 ("get", "/api/v1/channels", "admin", "预警渠道（不含密钥）", "alert channels by name and type (no secrets)", AUTH, [], None),
 ("get", "/api/v1/alert-rules", "admin", "生效的预警规则、静默时段与升级设置", "the alert rules in force, quiet hours and escalation", AUTH, [], None),
 ("get", "/api/v1/special-periods", "admin", "特殊时期", "special periods, with which is active", AUTH, [], None),
 ("get", "/api/v1/dashboard", "dashboard", "总览数据（今日/近7日）", "dashboard figures (today / last 7 days)", AUTH, [("range", "query", "today|week"), ("at", "query", "end of the period (default now)")], None),
 ("get", "/api/v1/search/export.xlsx", "search", "导出检索结果为 Excel", "export the search results as Excel (≤ 10,000 rows)", AUTH, [("q", "query", "a word or a plan expression, as for search"), ("since", "query", ""), ("until", "query", "")], None),
 ("post", "/api/v1/plans/preview", "plans", "方案实时预览（回测、样例、检查）", "live preview of a plan: backtest, samples, lint", AUTH, [], "{expression | region/subject/event/exclusion, since?, until?, samples?}"),
 ("get", "/api/v1/events/{id}/documents", "events", "事件的文档（分页）", "the documents of an event, paged", AUTH, [("id", "path", ""), ("limit", "query", ""), ("offset", "query", "")], None),
 ("get", "/api/v1/events/{id}/tree", "events", "传播树", "the propagation tree", AUTH, [("id", "path", "")], None),
 ("get", "/api/v1/live", "dashboard", "实时更新（服务器推送事件）", "live updates (server-sent events: counters every 3 s, each new alert)", AUTH, [], None),
 ("get", "/api/v1/stats", "cases", "考核统计", "statistics per department and monitor, the performance points (绩效考核分), the leaders' adjustments and whom the viewer may adjust (adjustable), and the overdue items (督办事项)", AUTH, [("from", "query", ""), ("to", "query", ""), ("as_of", "query", "")], None),
 ("get", "/api/v1/stats/export.xlsx", "cases", "考核统计导出", "the statistics as an Excel workbook (说明, 部门考核, 监测员考核, 考核分明细, 督办事项)", AUTH, [("from", "query", ""), ("to", "query", ""), ("as_of", "query", "")], None),
 ("post", "/api/v1/stats/adjustments", "cases", "领导加减分（需对其所在单位或上级单位有领导角色，不能给自己；写明理由）", "a leader's adjustment of a person's points (a leader over their unit, never oneself; with the reason)", AUTH, [], "{user, points: -100..100 (not 0), reason, case?, at?}", {"201": "{adjustment}", "403": "不是其上级领导 / not a leader over the person"}),
 ("post", "/api/v1/stats/adjustments/{id}/revoke", "cases", "撤销加减分（保留记录，不再计分）", "revoke an adjustment (kept, counts for nothing)", AUTH, [("id", "path", "adjustment id")], None),
 ("get", "/api/v1/reports", "reports", "已生成的报告（新的在前，不含内容）", "the saved reports, newest first (without their model)", AUTH, [("kind", "query", "daily|weekly|monthly|flash|digest|event|yearly|circular"), ("limit", "query", "1–1000, default 100")], None),
 ("post", "/api/v1/reports", "reports", "生成并保存报告（需领导、分析员或发言人角色）：日报、周报、月报、专报、快报、摘报、通报、年度统计", "build and save a report (leader, analyst or spokesperson): daily, weekly, monthly, event, flash, digest, circular or yearly; 201 with the saved report", AUTH, [], "{kind: daily, date: YYYY-MM-DD} | {kind: weekly, week: YYYY-Www | a date} | {kind: monthly, month: YYYY-MM} | {kind: event, event} | {kind: flash, alert | doc: platform:id} | {kind: digest, issue?, items: [{doc, summary?}]} | {kind: yearly, year} | {kind: circular, period: YYYY-Www | YYYY-MM | YYYY-Qn | YYYY}; plan?: a monitoring plan id (daily, weekly, monthly: a 专题 report over its hits); commentary?: {key: text}", {"201": "已保存的报告 / the saved report: {report}"}),
 ("get", "/api/v1/reports/{id}", "reports", "一份报告及其全部数据（模型）；定时报告另有 announced：各渠道的发送情况（channel、delivered_at、attempts、error）", "a saved report with its model (every figure); a scheduled report also has announced: where its announcement went (channel, delivered_at or null while still tried, attempts, the last error)", AUTH, [("id", "path", "report id")], None),
 ("get", "/api/v1/reports/{id}/{file}", "reports", "下载报告（按生成时的内容）：HTML、Word、Excel、PDF（需 LibreOffice，未安装时 503）或 JSON", "download the report as made: HTML, Word, Excel, PDF (needs LibreOffice; 503 otherwise) or JSON", AUTH, [("id", "path", "report id"), ("file", "path", "export.html|export.docx|export.xlsx|export.pdf|export.json")], None, {"200": "文件（Content-Disposition 带 UTF-8 文件名；HTML 带沙箱 CSP）/ the file (Content-Disposition with the UTF-8 name; HTML with a sandbox CSP)", "503": "PDF：未找到 LibreOffice / PDF: LibreOffice not found"}),
 ("put", "/api/v1/reports/{id}/commentary", "reports", "修改分析点评（空文本恢复为自动草稿；需领导、分析员或发言人角色），并重新生成", "set the analyst's commentary by block key (empty text: back to the computed draft; leader, analyst or spokesperson); the report is rebuilt", AUTH, [("id", "path", "report id")], "{commentary: {<key>: text}}, e.g. {commentary: {commentary: \"…\"}}"),
 ("post", "/api/v1/reports/{id}/rebuild", "reports", "按原参数用当前数据重新生成（需领导、分析员或发言人角色）", "build the report again from its inputs over today's data (leader, analyst or spokesperson)", AUTH, [("id", "path", "report id")], None),
]
EXTRA = json.loads(pathlib.Path(__file__).with_name("openapi_extra.json").read_text()) if pathlib.Path(__file__).with_name("openapi_extra.json").exists() else []
R += [tuple(x) for x in EXTRA]

paths = {}
for method, path, tag, zh, en, auth, params, body, *more in R:
    op = {
        "tags": [tag],
        "summary": f"{zh} / {en}",
        "responses": {
            "200": {"description": "OK (JSON)"},
            "400": {"$ref": "#/components/responses/Error"},
            "401": {"$ref": "#/components/responses/Error"},
            "403": {"$ref": "#/components/responses/Error"},
            "404": {"$ref": "#/components/responses/Error"},
            "409": {"$ref": "#/components/responses/Error"},
        },
    }
    for status, desc in (more[0] if more else {}).items():
        if status == "201":
            del op["responses"]["200"]
        op["responses"][status] = {"description": desc} if status < "400" else {"$ref": "#/components/responses/Error", "description": desc}
    op["responses"] = dict(sorted(op["responses"].items()))
    if auth:
        op["description"] = f"认证 / auth: {auth}"
        op["security"] = [{"session": []}, {"bearer": []}]
    if params:
        op["parameters"] = [
            {"name": n, "in": i, "required": i == "path", "description": d, "schema": {"type": "string"}}
            for n, i, d in params
        ]
    if body:
        op["requestBody"] = {"description": body, "content": {"application/json": {"schema": {"type": "object"}}}}
    paths.setdefault(path, {})[method] = op

doc = {
    "openapi": "3.1.0",
    "info": {
        "title": "yuqing API",
        "version": "1",
        "description": "舆情监测与处置系统的 JSON API。错误统一为 {message, message_en, code, type, reason?, link}。/ The JSON API of yuqing. Errors are {message, message_en, code, type, reason?, link}.",
    },
    "servers": [{"url": "/"}],
    "components": {
        "securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "yuqing_session"},
            "bearer": {"type": "http", "scheme": "bearer"},
        },
        "responses": {
            "Error": {
                "description": "错误 / error",
                "content": {"application/json": {"schema": {
                    "type": "object",
                    "required": ["message", "message_en", "code", "type"],
                    "properties": {
                        "message": {"type": "string"}, "message_en": {"type": "string"},
                        "code": {"type": "string", "enum": ["not_found", "conflict", "invalid_input", "unauthenticated", "forbidden", "unavailable", "internal"]},
                        "type": {"type": "string"}, "reason": {"type": "string"}, "link": {"type": "string"},
                        "position": {"type": "integer", "description": "plan expressions: 0-based character position of the error"},
                        "column": {"type": "integer"}, "kind": {"type": "string", "description": "plan expressions: the error kind"},
                    },
                }}},
            }
        },
    },
    "paths": dict(sorted(paths.items())),
}
out = pathlib.Path(__file__).resolve().parent.parent / "crates/yuqing-web/assets/openapi.json"
out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
print(f"{out}: {sum(len(v) for v in paths.values())} operations on {len(paths)} paths")
