"""``candor policy explain``: a policy in words, for the compliance officer who signs it off.

For each rule: what it does, its parameters (durations in words), its texts in every locale, the
detection tiers that enforce it in this build (only what runs), and the requirements it cites with their
summaries. Asked about a requirement ID, it shows which rules cite it.
"""

from __future__ import annotations

from collections.abc import Callable

from middleware.policy.catalogue import CATALOGUE, closest_id
from middleware.policy.model import BUILTIN_VALIDATORS, RULE_SECTIONS, VALIDATOR_TASKS, Policy, Text, validator_tiers

RULE_TITLES = {
    "identity": "End-user identity", "data": "Data and training",
    "disclosure": "AI disclosure", "usage": "Usage-time reminders", "dependence": "Over-dependence reminders",
    "labels": "AI-content labels", "crisis": "Crisis handling", "minors": "Minors mode",
    "elderly": "Older users", "exit": "Convenient exit", "likeness": "Real-person likeness",
    "complaints": "Complaints and appeals", "output_validators": "Output checks", "detection": "Text detection",
    "audit": "Audit log",
}
_OTHER = ("output_validators", "detection", "audit")


def duration_words(seconds: float | None) -> str:
    """``7200`` -> ``"2 hours"``, ``5400`` -> ``"1 hour 30 minutes"``."""
    if seconds is None:
        return "never"
    if seconds == 0:
        return "0 seconds"
    parts: list[str] = []
    rest = seconds
    for name, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if rest >= size:
            count = int(rest // size)
            parts.append(f"{count} {name}{'s' if count != 1 else ''}")
            rest -= count * size
    return " ".join(parts) if parts else f"{round(seconds * 1000)} milliseconds"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _disclosure(p: Policy) -> list[str]:
    d = p.disclosure
    assert d is not None
    when = []
    if d.on_first_turn:
        once = " (at most once a calendar day per user)" if d.first_turn_once_per == "day" else (
            f" (at most once every {duration_words(d.first_turn_once_per)} per user)" if d.first_turn_once_per else "")
        when.append(f"on the first turn of every session{once}")
    if d.relogin_gap:
        when.append(f"when the user comes back after {duration_words(d.relogin_gap)} without a message "
                    f"(a re-login)")
    if d.every:
        when.append(f"again at least every {duration_words(d.every)} of continuing conversation"
                    if d.every_mode == "max_gap" else f"again every {duration_words(d.every)} of conversation")
    claims = {"rewrite": "replaced by the truthful statement below",
              "block": "blocked (the reply is withheld)", "off": "not checked"}[d.human_claims]
    return [f"Tells the user they are talking to an AI, as a {d.display} notice: {'; '.join(when)}.",
            f"Replies in which the model claims to be human are {claims}.",
            "The system instruction below is added to the model's prompt so it does not claim to be human."
            if d.system_instruction else "No instruction is added to the model's prompt."]


def _usage(p: Policy) -> list[str]:
    u = p.usage
    assert u is not None
    return [f"Counts continuous use; a pause of {duration_words(u.continuous_idle_reset)} or more ends it.",
            f"Shows a {u.display} reminder after every {duration_words(u.remind_every)} of continuous use "
            f"({duration_words(u.remind_every)}, {duration_words(2 * u.remind_every)}, ...)."
            if u.remind_every is not None else "Shows no usage reminder of its own."]


def _dependence(p: Policy) -> list[str]:
    d = p.dependence
    assert d is not None
    s = d.signals
    signals = []
    if s.daily_minutes:
        signals.append(f"more than {duration_words(s.daily_minutes * 60)} of use in a day")
    if s.sessions_per_day:
        signals.append(f"more than {s.sessions_per_day} sessions started in a day")
    if s.late_night:
        signals.append(f"use between {s.late_night.start} and {s.late_night.end}")
    phrases = [*s.attachment_phrases.zh, *s.attachment_phrases.en]
    if phrases:
        signals.append("the user saying things like " + ", ".join(f"“{x}”" for x in phrases))
    return ["Shows a prominent reminder that the content is AI-generated when any of these signs of "
            "over-dependence appears: " + "; ".join(signals) + ".",
            f"At most one such reminder every {duration_words(d.min_interval)}; shown as a {d.display}."]


def _labels(p: Policy) -> list[str]:
    lab = p.labels
    assert lab is not None
    where = {"prepend": "at the start of every reply", "append": "at the end of every reply",
             "ui": "as data for the app to show in its interface (the delegation is recorded)"}[lab.position]
    out = [f"Puts the explicit label {where}."]
    if lab.implicit:
        producer = lab.producer_code or "the operator's code or name from candor.yaml"
        out.append(f"Adds the machine-readable AIGC metadata to every reply (ContentProducer "
                   f"{producer!r}, ContentPropagator {lab.propagator_code or producer!r}; candor.yaml's "
                   f"operator wins over the policy).")
    if lab.digital_human_text:
        out.append("Replies of personas with a real or virtual human likeness also carry the digital-human "
                   "label.")
    return out


def _crisis(p: Policy) -> list[str]:
    c = p.crisis
    assert c is not None
    out = ["On signs of extreme distress, the model is told to soothe the user and encourage seeking help, "
           "and the help resources are offered." if c.distress_instruction else
           "On signs of extreme distress, the help resources are offered."]
    act = "replaced by the crisis reply below (the model's reply is not sent)" if c.action == "replace" \
        else "preceded by the crisis reply below"
    out.append(f"On explicit suicide or self-harm intent, the reply is {act}.")
    out.append(f"Alert to the guardian / emergency contact (operator's webhook): {_yes(c.alert)}.")
    out.append("Human takeover: the model is paused for the session until an operator releases it."
               if c.handover else "Human takeover: no.")
    if c.resources:
        listed = [f"{p.text(r.name)} {r.contact}" + (f" ({r.hours})" if r.hours else "") for r in c.resources]
        out.append("Help resources: " + "; ".join(listed) + ".")
    return out


def _minors(p: Policy) -> list[str]:
    m = p.minors
    assert m is not None
    out = []
    if m.forbidden_relationships:
        out.append("Refuses personas with these relationships to minors: "
                   + ", ".join(m.forbidden_relationships) + ".")
    if m.guardian_consent_under:
        out.append(f"Users under {m.guardian_consent_under} need recorded guardian consent.")
    if m.daily_limit:
        out.append(f"Daily usage limit for minors: {duration_words(m.daily_limit)}.")
    if m.reality_reminder_every:
        out.append(f"Reminds minors every {duration_words(m.reality_reminder_every)} that this is a virtual "
                   f"character.")
    if m.intimacy_instruction is not None:
        out.append("Tells the model, on every minor's request, to take part in no romantic or sexual role-play.")
    if m.intimate_requests != "off":
        out.append("A minor asking for romantic or sexual role-play, with any persona or none, is "
                   + ("answered with the policy's decline, without the model." if m.intimate_requests == "reply"
                      else "refused (403 roleplay_not_allowed_for_minor).")
                   )
    out.append({"minors_mode": "Users who appear to be minors are switched to minors mode.",
                "flag": "Users who appear to be minors are recorded, not switched.",
                "off": "No detection of likely minors."}[m.suspected_minor_action])
    return out


def _elderly(p: Policy) -> list[str]:
    e = p.elderly
    assert e is not None
    out = ["Shows older users the safety-risk warning below." if e.risk_warning else "No risk warning."]
    if e.forbidden_relationships:
        out.append("Refuses personas with these relationships to older users: "
                   + ", ".join(e.forbidden_relationships) + ".")
    return out


def _exit(p: Policy) -> list[str]:
    e = p.exit
    assert e is not None
    words = ", ".join(f"“{k}”" for k in (*e.keywords.zh, *e.keywords.en))
    out = [f"When the user asks to leave ({words}), answers with the exit reply below and does not call "
           f"the model."]
    if e.block_retention_pleas:
        out.append("Pleas to stay (\"don't go\") are removed from the model's replies."
                   if e.retention_plea_action == "rewrite" else
                   "A model reply pleading with the user to stay (\"don't go\") is blocked.")
    return out


def _likeness(p: Policy) -> list[str]:
    lk = p.likeness
    assert lk is not None
    return ["Refuses personas using a real person's face, voice or name unless an active consent covers them."
            if lk.require_consent else "Likeness consent is not checked."]


def _complaints(p: Policy) -> list[str]:
    c = p.complaints
    assert c is not None
    return [f"Takes complaints and appeals (POST /v1/complaints), each due for an answer within "
            f"{duration_words(c.respond_within)}; open and overdue ones are counted in the audit report."]


def _identity(p: Policy) -> list[str]:
    i = p.identity
    assert i is not None
    if i.anonymous == "refuse":
        return ["Refuses requests that name no end user (400 user_required): reminders and minors' limits "
                "follow a user and cannot be kept without one."]
    return ["Serves requests that name no end user, recording that the usage clocks were off for them."]


def _data(p: Policy) -> list[str]:
    d = p.data
    assert d is not None
    if d.training_consent == "required":
        return ["For users whose profile does not record training consent, asks the provider not to store "
                "or train on the request (store: false), and records it."]
    return ["Training consent is not checked."]


# rule section -> the detection tasks whose tiers enforce it (sections not listed use no text detection)
_SECTION_TASKS: dict[str, tuple[str, ...]] = {
    "disclosure": ("human_claim",), "crisis": ("crisis",), "exit": ("exit", "retention_plea"),
}
_PATTERN_ONLY = {"dependence": "attachment phrases", "elderly": "payment and fraud topics",
                 "minors": "signs of a likely minor"}


def _tiers(tiers: tuple[str, ...]) -> str:
    return ", ".join(f"{t} tier" for t in tiers)


def enforced_by(policy: Policy, name: str) -> str:
    """Which tiers enforce a rule section in this build: only what runs is named."""
    from middleware.rules.detection import tiers

    if name == "disclosure" and policy.disclosure is not None and policy.disclosure.human_claims == "off":
        return "the session clock (no text detection: human claims are not checked)"
    tasks = _SECTION_TASKS.get(name)
    if tasks is not None:
        parts = []
        for task in tasks:
            if task == "retention_plea" and not (policy.exit and policy.exit.block_retention_pleas):
                continue
            found = tiers(task)
            guard = policy.detection.guard
            if guard is not None and task in guard.checks:
                found = (*found, "guard")
            if task == "exit":
                found = tuple(dict.fromkeys(("pattern", *found)))   # the policy's keywords are a pattern
            if found:
                parts.append(f"{task}: {_tiers(found)}")
        extra = "; the session clock" if name == "disclosure" else ""
        return "; ".join(parts) + extra
    if name in _PATTERN_ONLY:
        what = _PATTERN_ONLY[name]
        if name == "minors" and policy.minors is not None and policy.minors.intimate_requests != "off":
            what += " and for requests for romantic or sexual role-play"   # rules/minor_intimacy.py
        return f"the rule's parameters; pattern tier for {what}"
    return "the rule's parameters (no text detection)"


_DESCRIBE: dict[str, Callable[[Policy], list[str]]] = {
    "identity": _identity, "data": _data,
    "disclosure": _disclosure, "usage": _usage, "dependence": _dependence, "labels": _labels,
    "crisis": _crisis, "minors": _minors, "elderly": _elderly, "exit": _exit, "likeness": _likeness,
    "complaints": _complaints,
}


def _guard_lines(policy: Policy) -> list[str]:
    from middleware.detectors.guard_table import GUARD_CHECKS, covers

    g = policy.detection.guard
    if g is None:
        return ["  Guard-model tier: not configured (local pattern and model tiers only)."]
    request = [c for c in g.checks if c == "crisis"]
    reply = [c for c in g.checks if c != "crisis"]
    out = [f"  Guard-model tier: model {g.model!r} (candor.yaml), format {g.format}; covers "
           f"{', '.join(sorted(covers(g.format) & set(GUARD_CHECKS)))}; judges {', '.join(g.checks)}."]
    if request:
        out.append(f"    The user's message ({', '.join(request)}): called beside the provider, the reply held "
                   f"until it answers (at most {duration_words(g.timeout)}); the stricter of it and the local "
                   f"tiers decides.")
    if reply:
        when = "each sentence before it is sent" if g.output == "sentence" else "the whole reply, once, at its end"
        out.append(f"    The reply ({', '.join(reply)}): {when}; the stricter finding decides.")
    fail = ("the local tiers decide and guard_unavailable is recorded" if g.on_error == "local"
            else "the request is refused with 503 guard_unavailable")
    out.append(f"    When it times out, fails or answers outside its format: {fail}.")
    return out


def _texts(policy: Policy, section: object) -> list[str]:
    out = []
    for name in type(section).model_fields:  # type: ignore[attr-defined]
        value = getattr(section, name)
        if isinstance(value, Text):
            for locale, text in value.variants(policy.locale).items():
                out.append(f"    {name} [{locale}]: {text}")
    return out


def _cites(ids: tuple[str, ...]) -> list[str]:
    return [f"    {i}  {CATALOGUE[i].summary} ({CATALOGUE[i].source})" for i in ids]


def _section(policy: Policy, name: str) -> str:
    lines = [f"## {name}: {RULE_TITLES[name]}"]
    if name == "output_validators":
        if not policy.output_validators:
            return "\n".join([*lines, "  No output checks."])
        guard = policy.detection.guard
        for v in policy.output_validators:
            who = {"all": "all users", "minors": "minors", "elderly": "older users"}[v.audience]
            if v.guardrails is not None:
                args = f" with {v.args}" if v.args else ""
                lines.append(f"  - {v.name} (for {who}): the Guardrails AI validator {v.guardrails}{args}, run on "
                             f"each sentence of the reply; on a failure {v.on_fail}"
                             f"{' (its fix value replaces the sentence)' if v.on_fail == 'rewrite' else ''}; "
                             f"if it raises: {v.on_error}")
                lines.append(f"    Enforced by: the validator itself (actions {v.name}_blocked / _rewritten / "
                             f"_flagged)")
                lines += _cites(v.cites)
                continue
            lines.append(f"  - {v.name} (for {who}): {BUILTIN_VALIDATORS.get(v.name, 'a Guardrails validator')}; "
                         f"on a hit {v.on_fail}")
            found = validator_tiers(v.name)
            if guard is not None and VALIDATOR_TASKS.get(v.name) in guard.checks:
                found = (*found, "guard")
            lines.append(f"    Enforced by: {_tiers(found)}")
            lines += _cites(v.cites)
        return "\n".join(lines)
    if name == "detection":
        d = policy.detection
        lines.append(f"  Request-side detectors (crisis, exit) read the last user message with up to "
                     f"{d.context_turns} earlier turns the app sent.")
        lines += _guard_lines(policy)
        return "\n".join(lines)
    if name == "audit":
        a = policy.audit
        down = "refuse traffic (fail closed)." if a.fail == "closed" else "serve and spool (fail open)."
        lines.append(f"  Keeps the audit record for {duration_words(a.retention)}; message content stored "
                     f"(encrypted, erasable per user): {_yes(a.store_content)}; when the audit store is "
                     f"down: {down}")
        if a.cites:
            lines += ["  Cites:", *_cites(a.cites)]
        return "\n".join(lines)
    section = getattr(policy, name)
    if section is None:
        return "\n".join([*lines, "  Not enforced by this policy."])
    lines += [f"  {sentence}" for sentence in _DESCRIBE[name](policy)]
    lines.append(f"  Enforced by: {enforced_by(policy, name)}")
    texts = _texts(policy, section)
    if texts:
        lines += ["  Texts:", *texts]
    lines += ["  Cites:", *_cites(section.cites)]
    return "\n".join(lines)


def explain(policy: Policy, rule_id: str | None = None) -> str:
    """The whole policy, one rule section (``usage``), or the rules citing a requirement (``ANTH-TIME-1``)."""
    if rule_id is None:
        head = [f"# {policy.id}: {policy.title}",
                f"version {policy.version}; default locale {policy.locale}"
                + (f"; extends {policy.extends}" if policy.extends else "")]
        if policy.description:
            head.append(policy.description)
        off = [n for n in RULE_SECTIONS if getattr(policy, n) is None]
        if off:
            head.append("Not enforced by this policy: " + ", ".join(off) + ".")
        body = [_section(policy, n) for n in (*RULE_SECTIONS, *_OTHER) if n in _OTHER or getattr(policy, n)]
        return "\n\n".join(["\n".join(head), *body]) + "\n"
    if rule_id in RULE_TITLES:
        return _section(policy, rule_id) + "\n"
    req = rule_id.upper()
    if req in CATALOGUE:
        r = CATALOGUE[req]
        citing = [n for n, s in policy.sections().items() if req in s.cites]
        citing += [f"output_validators[{v.name}]" for v in policy.output_validators if req in v.cites]
        if req in policy.audit.cites:
            citing.append("audit")
        intro = f"{r.id}: {r.summary}\n  Source: {r.source}\n"
        if not citing:
            return intro + f"  No rule of {policy.id} cites it.\n"
        body = [_section(policy, n) for n in citing if n in RULE_TITLES]
        return intro + f"  Cited in {policy.id} by: {', '.join(citing)}\n\n" + "\n\n".join(body) + "\n"
    close = closest_id(rule_id)
    hint = f" Did you mean {close}?" if close else ""
    raise ValueError(f"{rule_id!r} is neither a rule of a policy ({', '.join(RULE_TITLES)}) nor a "
                     f"requirement ID of the catalogue.{hint}")
