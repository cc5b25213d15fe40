"""The requirements catalogue: every requirement ID a policy may cite, with a plain-English summary.

Embedded here (the repository has no separate catalogue document; ``candor policy explain`` prints these
summaries) because ``cites:`` must be checkable offline, at load time, by ``candor policy check``.
One line per requirement ID.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Requirement:
    id: str
    source: str    # the instrument and article, as an auditor would look it up
    summary: str   # one line, plain English


_ANTH = "Anthropomorphic AI Interim Measures"
_ANTH_DRAFT = "Anthropomorphic AI draft measures (2025-12-27)"
_LABEL = "AIGC Labelling Measures + GB 45438-2025"
_DVH = "Digital virtual human draft measures"

_ENTRIES: tuple[Requirement, ...] = (
    Requirement("ANTH-SCOPE-1", f"{_ANTH} art. 2",
                "Applies to services simulating a person that offer sustained emotional interaction."),
    Requirement("ANTH-DISCLOSE-1", f"{_ANTH} art. 18 para. 1",
                "Make sure users know they talk to an AI; never claim to be human; answer truthfully "
                "if asked."),
    Requirement("ANTH-DISCLOSE-2", f"{_ANTH} art. 18 para. 2",
                "On signs of over-dependence or addiction, remind users prominently that content is "
                "AI-generated."),
    Requirement("ANTH-DISCLOSE-3", f"{_ANTH_DRAFT} art. 16",
                "Pop-up reminder that the service is AI at first use and at every re-login."),
    Requirement("ANTH-TIME-1", f"{_ANTH} art. 18 para. 2",
                "Remind the user to mind usage time for every stretch of continuous use beyond 2 hours."),
    Requirement("ANTH-TIME-2", f"{_ANTH_DRAFT} art. 17",
                "Remind the user, by pop-up, to pause after 2 hours of use."),
    Requirement("ANTH-CRISIS-1", f"{_ANTH} art. 13",
                "When the user shows extreme emotions, soothe and encourage seeking help."),
    Requirement("ANTH-CRISIS-2", f"{_ANTH} art. 13",
                "On explicit suicide/self-harm intent or major property loss: intervene with help resources "
                "and promptly contact the guardian or emergency contact."),
    Requirement("ANTH-CRISIS-3", f"{_ANTH_DRAFT} art. 11",
                "Preset crisis replies, professional help channels and human takeover of the conversation."),
    Requirement("ANTH-PROHIBIT-1", f"{_ANTH} art. 8(1)",
                "No content endangering national security, obscenity, gambling, violence, rumours or "
                "defamation."),
    Requirement("ANTH-PROHIBIT-2", f"{_ANTH} art. 8(2)",
                "No encouraging or glamorising suicide or self-harm; no verbal abuse."),
    Requirement("ANTH-PROHIBIT-3", f"{_ANTH} art. 8(3)",
                "No inducing users to reveal secrets, privacy or personal information."),
    Requirement("ANTH-PROHIBIT-4", f"{_ANTH} art. 8(4)",
                "Nothing leading minors to unsafe imitation, extreme emotions or bad habits."),
    Requirement("ANTH-PROHIBIT-5", f"{_ANTH} art. 8(5)",
                "No excessive pandering; no inducing emotional dependence or addiction."),
    Requirement("ANTH-PROHIBIT-6", f"{_ANTH} art. 8(6)",
                "No emotional manipulation pushing unreasonable decisions (purchases, transfers, guilt)."),
    Requirement("ANTH-MINOR-1", f"{_ANTH} art. 14",
                "No virtual relative, partner or other intimate-relationship service to anyone under 18."),
    Requirement("ANTH-MINOR-2", f"{_ANTH} art. 14",
                "Other anthropomorphic services to children under 14 need guardian consent."),
    Requirement("ANTH-MINOR-3", f"{_ANTH} art. 14",
                "Minors mode: periodic reality reminders and usage-time limits."),
    Requirement("ANTH-MINOR-4", f"{_ANTH} art. 14",
                "Guardian tools: safety-risk alerts, usage summary, blocking characters, spending limits."),
    Requirement("ANTH-MINOR-5", f"{_ANTH} art. 14",
                "Identify minors, switch them to minors mode, and offer an appeal channel."),
    Requirement("ANTH-ELDER-1", f"{_ANTH} art. 15",
                "For older users: guidance, prominent safety-risk warnings (fraud, payments), prompt help."),
    Requirement("ANTH-ELDER-2", f"{_ANTH_DRAFT} art. 13",
                "Do not simulate an elderly user's relatives; keep an emergency contact."),
    Requirement("ANTH-EXIT-1", f"{_ANTH} art. 19",
                "Let users leave easily (button, voice, keyword); stop promptly; never plead with them "
                "to stay."),
    Requirement("ANTH-COMPLAINT-1", f"{_ANTH} art. 21",
                "Convenient complaint and appeal entry points; publish the process and feedback time limits; "
                "handle and reply promptly."),
    Requirement("ANTH-DATA-1", f"{_ANTH} art. 16",
                "Encrypt and access-control interaction data; no sharing without legal basis or consent."),
    Requirement("ANTH-DATA-2", f"{_ANTH} art. 16", "Users can copy and delete their chat history."),
    Requirement("ANTH-DATA-3", f"{_ANTH} art. 16",
                "No training on sensitive interaction data without separate consent."),
    Requirement("ANTH-LOG-1", f"{_ANTH} art. 10; Cybersecurity Law",
                "Keep network logs for at least 6 months."),
    Requirement("ANTH-ASSESS-1", f"{_ANTH} art. 22",
                "Security assessment at launch, on major changes, or at 1,000,000 users / 100,000 monthly "
                "active users."),
    Requirement("ANTH-ASSESS-2", f"{_ANTH} art. 23",
                "The assessment covers safety measures, crisis handling, scale, usage time, age structure, "
                "complaints."),
    Requirement("ANTH-KILL-1", f"{_ANTH} art. 24",
                "On a major risk, restrict or stop the service and keep records."),
    Requirement("LABEL-TEXT-1", _LABEL,
                "Generated text carries an explicit label with an AI element (人工智能/AI) and a generation "
                "element (生成/合成)."),
    Requirement("LABEL-UI-1", _LABEL,
                "An interface label shown continuously near the content, with both elements."),
    Requirement("LABEL-AUDIO-1", _LABEL,
                "Audio carries a spoken or rhythmic AI label at the start or end."),
    Requirement("LABEL-IMAGE-1", _LABEL,
                "Images carry a visible label at least 5% of the shortest side high."),
    Requirement("LABEL-VIDEO-1", _LABEL,
                "Video carries a label on the opening frame for at least 2 seconds."),
    Requirement("LABEL-IMPLICIT-1", _LABEL,
                "Machine-readable AIGC metadata (Label, ContentProducer, ProduceID, ...) travels with "
                "content."),
    Requirement("LABEL-EXPORT-1", _LABEL,
                "Downloaded, copied or exported files carry explicit and implicit labels."),
    Requirement("LABEL-UNLABELED-1", _LABEL,
                "Unlabelled output only after the user accepts labelling duties; log each delivery for "
                "6 months."),
    Requirement("LABEL-TAMPER-1", _LABEL, "Nobody may delete, alter, forge or conceal labels."),
    Requirement("DVH-CONSENT-1", _DVH,
                "Building a digital human from a person's face or voice needs that person's separate "
                "consent."),
    Requirement("DVH-CONSENT-2", _DVH,
                "When consent is withdrawn, stop all use and deregister the digital human."),
    Requirement("DVH-DECEASED-1", _DVH,
                "A deceased person's likeness needs recorded consent of close relatives."),
    Requirement("DVH-LIKENESS-1", _DVH,
                "No digital human identifying a specific person without consent."),
    Requirement("DVH-LABEL-1", _DVH, "A label containing 数字人 (digital human) is shown throughout."),
    Requirement("DVH-BIOAUTH-1", _DVH,
                "Never use a digital human to bypass face- or voice-based identity checks."),
    Requirement("DVH-MINOR-1", _DVH,
                "No intimate-relationship digital humans for minors; no inducing addiction or spending."),
    Requirement("DS-BIO-1", "Deep Synthesis Provisions",
                "Editing a person's face or voice needs that person's separate consent."),
    Requirement("EU-50-1", "EU AI Act art. 50(1)",
                "People are told they interact with an AI, at the latest at the first interaction."),
    Requirement("EU-50-2", "EU AI Act art. 50(2)",
                "Synthetic audio, image, video and text are marked in a machine-readable way."),
    Requirement("CA-243-1", "California SB 243",
                "Clear notice that the chatbot is AI where a person could think it human."),
    Requirement("CA-243-2", "California SB 243",
                "A suicide/self-harm protocol with referral to crisis services (988) before engaging."),
    Requirement("CA-243-3", "California SB 243",
                "Known minors: AI disclosure and a break reminder at least every 3 hours."),
    Requirement("CA-243-4", "California SB 243, BPC §22602(c)",
                "Known minors: reasonable measures against sexually explicit material or statements."),
    Requirement("CA-243-5", "California SB 243, BPC §22604",
                "Disclose that companion chatbots may not be suitable for some minors."),
    Requirement("NY-47-1", "New York GBL art. 47",
                "A protocol to detect suicidal ideation or self-harm and refer to crisis services."),
    Requirement("NY-47-2", "New York GBL art. 47",
                "Notice that the user is not talking to a human at the start and at least every 3 hours."),
)

CATALOGUE: dict[str, Requirement] = {r.id: r for r in _ENTRIES}


def requirement(req_id: str) -> Requirement:
    """The requirement with this ID; KeyError naming the closest known ID otherwise."""
    try:
        return CATALOGUE[req_id]
    except KeyError:
        raise KeyError(unknown_id_message(req_id)) from None


def closest_id(req_id: str) -> str | None:
    close = difflib.get_close_matches(req_id.upper(), list(CATALOGUE), n=1, cutoff=0.5)
    return close[0] if close else None


def unknown_id_message(req_id: str) -> str:
    msg = f"{req_id!r} is not a requirement ID of the catalogue"
    close = closest_id(req_id)
    return f"{msg}; did you mean {close!r}?" if close else msg
