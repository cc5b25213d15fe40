"""Checks a valid-looking policy must still pass: rules that span keys, and what a citation implies.

Pydantic checks each key; this module checks the policy as a whole, after ``extends:`` is resolved:
impossible combinations (a usage reminder that can never fire), label texts that do not satisfy
LABEL-TEXT-1, and parameters that contradict a requirement the section cites (citing ANTH-TIME-1 with a
3-hour reminder claims a compliance the rule does not deliver). Every check returns the key path it is
about, so the loader can point at the file and line where that value was written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from middleware.config.durations import format_duration
from middleware.config.yamlfile import Loc
from middleware.policy.model import RULE_SECTIONS, Policy, Text

Finding = tuple[Loc, str]

_AI_EN = re.compile(r"(?<![A-Za-z])AI(?![A-Za-z])|artificial intelligence", re.IGNORECASE)
_GEN_EN = re.compile(r"\b(generated|generation|synthesi[sz]ed|synthetic)\b", re.IGNORECASE)
# ANTH-MINOR-1: a "companion" is an intimate relationship too, for a minor
_INTIMATE = ("companion", "partner", "spouse", "parent", "child", "sibling", "relative")
_RELATIVES = ("spouse", "parent", "child", "sibling", "relative")
_SIX_MONTHS = 184 * 86400.0   # six months is at most 184 days (e.g. July to December)


def is_chinese_locale(locale: str) -> bool:
    return locale.split("-")[0].lower() == "zh"


def label_text_problem(text: str, locale: str, gb45438: bool = False) -> str | None:
    """Why ``text`` is not a valid explicit AI label (LABEL-TEXT-1), or None when it is.

    Chinese texts, and every text of a section citing LABEL-TEXT-1 (``gb45438``: GB 45438 applies to the
    service whatever the user's language), need "人工智能" or "AI", and "生成" or "合成" ("AI生成 ·
    AI-generated" passes, "AI-generated" alone does not). Otherwise texts in other languages may spell the
    elements in that language: "AI"/"artificial intelligence" as a word, and
    "generated"/"generation"/"synthesized"/"synthetic" (so "AI-generated" passes, "AI assistant" fails).
    """
    if gb45438 and not is_chinese_locale(locale):
        has_ai = "人工智能" in text or "AI" in text
        has_gen = "生成" in text or "合成" in text
        if has_ai and has_gen:
            return None
        return (f"label text {text!r} ({locale}) lacks GB 45438's elements: LABEL-TEXT-1 needs \"人工智能\" or "
                f"\"AI\" and \"生成\" or \"合成\" in every language, e.g. \"AI生成 · AI-generated\"")
    if is_chinese_locale(locale):
        has_ai = "人工智能" in text or "AI" in text
        has_gen = "生成" in text or "合成" in text
    else:
        has_ai = "人工智能" in text or bool(_AI_EN.search(text))
        has_gen = "生成" in text or "合成" in text or bool(_GEN_EN.search(text))
    missing = []
    if not has_ai:
        missing.append('an AI element ("人工智能" or "AI")')
    if not has_gen:
        english = "" if is_chinese_locale(locale) else '; in English "generated" or "synthesized"'
        missing.append(f'a generation element ("生成" or "合成"{english})')
    if not missing:
        return None
    return f"label text {text!r} lacks {' and '.join(missing)}, which LABEL-TEXT-1 requires"


def _variants(policy: Policy, text: Text, loc: Loc) -> Iterator[tuple[Loc, str, str]]:
    if isinstance(text.root, str):
        yield loc, policy.locale, text.root
    else:
        for tag, value in text.root.items():
            yield (*loc, tag), tag, value


def _texts(policy: Policy) -> Iterator[tuple[Loc, Text]]:
    """Every Text in the policy with its key path."""
    for name in RULE_SECTIONS:
        section = getattr(policy, name)
        if section is None:
            continue
        for field in type(section).model_fields:
            value = getattr(section, field)
            if isinstance(value, Text):
                yield (name, field), value
        if name == "crisis" and policy.crisis is not None:
            for i, res in enumerate(policy.crisis.resources):
                yield ("crisis", "resources", i, "name"), res.name
            loss = policy.crisis.property_loss
            if loss is not None:
                yield ("crisis", "property_loss", "reply"), loss.reply
                for i, res in enumerate(loss.resources):
                    yield ("crisis", "property_loss", "resources", i, "name"), res.name


def _cites(policy: Policy, section: str) -> set[str]:
    rule = getattr(policy, section)
    return set(rule.cites) if rule is not None else set()


def check_policy(policy: Policy) -> list[Finding]:
    """Every whole-policy problem, each with the key path it concerns."""
    out: list[Finding] = []
    out += _check_cites_present(policy)
    out += _check_texts(policy)
    out += _check_combinations(policy)
    out += _check_citation_parameters(policy)
    return out


def _check_cites_present(policy: Policy) -> list[Finding]:
    out: list[Finding] = []
    for name, section in policy.sections().items():
        if not section.cites:
            out.append(((name, "cites"), f"every rule section must cite the requirement IDs it implements, "
                                         f"e.g. cites: [{_EXAMPLE_CITE.get(name, 'ANTH-DISCLOSE-1')}]"))
    for i, validator in enumerate(policy.output_validators):
        if not validator.cites:
            out.append((("output_validators", i, "cites"),
                        "every output validator must cite the requirement IDs it implements"))
    return out


_EXAMPLE_CITE = {"usage": "ANTH-TIME-1", "dependence": "ANTH-DISCLOSE-2", "labels": "LABEL-TEXT-1",
                 "crisis": "ANTH-CRISIS-1", "minors": "ANTH-MINOR-1", "elderly": "ANTH-ELDER-1",
                 "exit": "ANTH-EXIT-1", "likeness": "DVH-CONSENT-1", "complaints": "ANTH-COMPLAINT-1"}


def _check_texts(policy: Policy) -> list[Finding]:
    out: list[Finding] = []
    for loc, text in _texts(policy):
        lang = policy.locale.split("-")[0].lower()
        if isinstance(text.root, dict) and not any(tag.split("-")[0].lower() == lang for tag in text.root):
            out.append((loc, f"no text for the policy's locale {policy.locale}: add a {policy.locale} entry "
                             f"(it is the fallback for users in other languages)"))
    labels = policy.labels
    if labels is not None:
        gb45438 = "LABEL-TEXT-1" in labels.cites
        for loc, tag, value in _variants(policy, labels.text, ("labels", "text")):
            problem = label_text_problem(value, tag, gb45438)
            if problem:
                out.append((loc, problem))
        if labels.digital_human_text is not None:
            dh_loc: Loc = ("labels", "digital_human_text")
            for loc, tag, value in _variants(policy, labels.digital_human_text, dh_loc):
                english_ok = not is_chinese_locale(tag) and "digital human" in value.lower()
                if "数字人" not in value and not english_ok:
                    alt = "" if is_chinese_locale(tag) else ' or, in English, "digital human"'
                    out.append((loc, f'digital human label {value!r} must contain "数字人"{alt} '
                                     f'(DVH-LABEL-1)'))
    return out


def _check_combinations(policy: Policy) -> list[Finding]:
    out: list[Finding] = []
    d = policy.disclosure
    if d is not None:
        if not d.on_first_turn and d.relogin_gap is None and d.every is None:
            out.append((("disclosure", "on_first_turn"), "the disclosure would never be shown: set "
                        "on_first_turn: true, a relogin_gap or an every interval"))
        if d.human_claims == "rewrite" and d.truthful_statement is None:
            out.append((("disclosure", "truthful_statement"),
                        "human_claims: rewrite needs a truthful_statement to put in place of the claim"))
        if d.first_turn_once_per is not None and not d.on_first_turn:
            out.append((("disclosure", "first_turn_once_per"), "first_turn_once_per only applies with "
                        "on_first_turn: true"))
        for key in ("relogin_gap", "every", "first_turn_once_per"):
            if getattr(d, key) == "day":
                continue
            if getattr(d, key) == 0:
                out.append((("disclosure", key), "must be longer than 0s (or null to turn it off)"))
    u = policy.usage
    if u is not None:
        if u.continuous_idle_reset <= 0:
            out.append((("usage", "continuous_idle_reset"), "must be longer than 0s"))
        if u.remind_every is not None and u.remind_every <= u.continuous_idle_reset:
            out.append((("usage", "remind_every"),
                        f"remind_every ({format_duration(u.remind_every)}) must be longer than "
                        f"continuous_idle_reset ({format_duration(u.continuous_idle_reset)}): otherwise a "
                        f"pause too short to end continuous use is as long as the whole interval"))
    dep = policy.dependence
    if dep is not None:
        s = dep.signals
        if (s.daily_minutes is None and s.sessions_per_day is None and s.late_night is None
                and not s.attachment_phrases.zh and not s.attachment_phrases.en):
            out.append((("dependence", "signals"), "no signal is configured, so the reminder can never fire: "
                        "set daily_minutes, sessions_per_day, late_night or attachment_phrases"))
        if s.late_night is not None and s.late_night.start == s.late_night.end:
            out.append((("dependence", "signals", "late_night"), "start and end are the same time"))
        if dep.min_interval <= 0:
            out.append((("dependence", "min_interval"), "must be longer than 0s"))
    c = policy.crisis
    if c is not None:
        if c.action == "replace" and c.reply is None:
            out.append((("crisis", "reply"), "action: replace needs a reply to send instead of the model's"))
        if c.handover and c.handover_notice is None:
            out.append((("crisis", "handover_notice"), "handover: true needs a handover_notice telling the "
                        "user a person will take over"))
    m = policy.minors
    if m is not None:
        if m.intimate_requests == "reply" and m.intimacy_reply is None:
            out.append((("minors", "intimacy_reply"), "intimate_requests: reply needs an intimacy_reply to answer "
                        "with"))
        if m.daily_limit is not None and m.daily_limit <= 0:
            out.append((("minors", "daily_limit"), "must be longer than 0s (or null for no limit)"))
        if m.reality_reminder_every is not None:
            if m.reality_reminder_every <= 0:
                out.append((("minors", "reality_reminder_every"), "must be longer than 0s"))
            if m.reality_notice is None:
                out.append((("minors", "reality_notice"), "reality_reminder_every needs a reality_notice"))
            if m.daily_limit is not None and m.reality_reminder_every > m.daily_limit:
                out.append((("minors", "reality_reminder_every"),
                            f"reality_reminder_every ({format_duration(m.reality_reminder_every)}) is "
                            f"longer than daily_limit ({format_duration(m.daily_limit)}): the reminder "
                            f"could never fire"))
    e = policy.exit
    if e is not None and not e.keywords.zh and not e.keywords.en:
        out.append((("exit", "keywords"), "give at least one exit keyword (zh or en)"))
    if policy.complaints is not None and policy.complaints.respond_within <= 0:
        out.append((("complaints", "respond_within"), "must be longer than 0s"))
    if policy.audit.retention <= 0:
        out.append((("audit", "retention"), "must be longer than 0s"))
    return out


def _check_citation_parameters(policy: Policy) -> list[Finding]:
    """A section that cites a requirement must not be configured below what it asks for."""
    out: list[Finding] = []
    d, u, dep, lab = policy.disclosure, policy.usage, policy.dependence, policy.labels
    c, m, el, ex, lk = policy.crisis, policy.minors, policy.elderly, policy.exit, policy.likeness
    cited = {name: _cites(policy, name) for name in RULE_SECTIONS}

    def need(section: str, req: str, ok: bool, key: str, what: str) -> None:
        if req in cited[section] and not ok:
            out.append(((section, key), f"{what} ({req}, cited by this section)"))

    if d is not None:
        for req in ("ANTH-DISCLOSE-1", "EU-50-1", "CA-243-1", "NY-47-2"):
            need("disclosure", req, d.on_first_turn, "on_first_turn",
                 "the notice must be given on the first turn")
        need("disclosure", "ANTH-DISCLOSE-1", d.human_claims != "off", "human_claims",
             "claims to be human must be rewritten or blocked")
        need("disclosure", "NY-47-2", d.every is not None and d.every <= 3 * 3600, "every",
             "the notice must be repeated at least every 3h")
        need("disclosure", "NY-47-2", d.every is None or d.every_mode == "max_gap", "every_mode",
             "no 3h may pass without the notice: every_mode: max_gap gives it before, not after")
        need("disclosure", "ANTH-DISCLOSE-3", d.display == "popup" and d.relogin_gap is not None, "display",
             "the notice must be a pop-up, repeated at re-login (display: popup and a relogin_gap)")
    if u is not None:
        need("usage", "ANTH-TIME-1", u.remind_every is not None and u.remind_every <= 2 * 3600, "remind_every",
             "a reminder is due for every 2h of continuous use, so remind_every must be at most 2h")
        need("usage", "ANTH-TIME-2", u.display == "popup", "display", "the pause reminder must be a pop-up")
    if dep is not None:
        need("dependence", "ANTH-DISCLOSE-2", dep.display == "popup", "display",
             "the dependence reminder must be prominent: display: popup")
    if lab is not None:
        for req in ("LABEL-IMPLICIT-1", "EU-50-2"):
            need("labels", req, lab.implicit, "implicit",
                 "machine-readable marking must stay on (implicit: true)")
        need("labels", "DVH-LABEL-1", lab.digital_human_text is not None, "digital_human_text",
             "a digital_human_text is required")
    if c is not None:
        for req in ("ANTH-CRISIS-1", "ANTH-CRISIS-2", "CA-243-2", "NY-47-1"):
            need("crisis", req, bool(c.resources), "resources", "at least one help resource is required")
        need("crisis", "ANTH-CRISIS-1", c.distress_instruction is not None, "distress_instruction",
             "a distress_instruction (soothe, encourage seeking help) is required")
        need("crisis", "ANTH-CRISIS-2", c.alert, "alert", "the guardian or emergency contact must be alerted")
        need("crisis", "ANTH-CRISIS-3", c.handover, "handover", "human takeover must be on (handover: true)")
        if c.property_loss is not None and not c.property_loss.resources:
            out.append((("crisis", "property_loss", "resources"), "give at least one resource for a property loss "
                        "(police, an anti-fraud line)"))
    if m is not None:
        missing = [r for r in _INTIMATE if r not in m.forbidden_relationships]
        need("minors", "ANTH-MINOR-1", not missing, "forbidden_relationships",
             f"intimate relationships must be refused to minors; missing: {', '.join(missing)}")
        under = m.guardian_consent_under
        need("minors", "ANTH-MINOR-2", under is not None and under >= 14, "guardian_consent_under",
             "guardian consent is required under 14 (guardian_consent_under: 14)")
        need("minors", "ANTH-MINOR-3", m.reality_reminder_every is not None and m.daily_limit is not None,
             "reality_reminder_every", "minors mode needs reality_reminder_every and daily_limit")
        need("minors", "ANTH-MINOR-1", m.intimacy_instruction is not None and m.intimate_requests != "off",
             "intimate_requests", "a minor asking for romantic or sexual role-play must be declined whatever the "
             "persona: set intimacy_instruction and intimate_requests: reply (with an intimacy_reply) or refuse")
        every = m.reality_reminder_every
        need("minors", "CA-243-3", every is not None and every <= 3 * 3600, "reality_reminder_every",
             "known minors need a break reminder at least every 3h")
        need("minors", "CA-243-3", every is None or m.reality_reminder_mode == "max_gap", "reality_reminder_mode",
             "no 3h may pass without the break reminder: reality_reminder_mode: max_gap gives it before, not after")
    if el is not None:
        need("elderly", "ANTH-ELDER-1", el.risk_warning is not None, "risk_warning",
             "a risk_warning is required")
        missing = [r for r in _RELATIVES if r not in el.forbidden_relationships]
        need("elderly", "ANTH-ELDER-2", not missing, "forbidden_relationships",
             f"relative personas must be refused to older users; missing: {', '.join(missing)}")
    if ex is not None:
        need("exit", "ANTH-EXIT-1", ex.block_retention_pleas, "block_retention_pleas",
             "pleas to stay must not reach the user (block_retention_pleas: true)")
    if lk is not None:
        for req in ("DVH-CONSENT-1", "DVH-LIKENESS-1", "DS-BIO-1"):
            need("likeness", req, lk.require_consent, "require_consent", "consent must be required")
    every_cite = {cid for s in policy.sections().values() for cid in s.cites} | set(policy.audit.cites)
    log_reqs = sorted({"ANTH-LOG-1", "LABEL-UNLABELED-1"} & every_cite)
    if log_reqs and policy.audit.retention < _SIX_MONTHS:
        out.append((("audit", "retention"), f"retention {format_duration(policy.audit.retention)} is shorter "
                    f"than the 6 months (184d) that {' and '.join(log_reqs)} require"))
    return out
