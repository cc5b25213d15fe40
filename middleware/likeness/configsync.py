"""``personas:`` in candor.yaml: personas declared in the config, brought into the registry at start-up.

The config creates personas that do not exist and updates the ones that do (display name,
relationship, likeness). It may disable a persona (``enabled: false``) but never re-enables one:
a persona an operator switched off through the API or CLI (a kill switch) must not come back on
because a replica restarted. Consents are never declared in the config: they need evidence and
history, so they go through the ledger (API or CLI).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from middleware.http.errors import CandorError
from middleware.likeness.models import Persona, PersonaIn, PersonaPatch
from middleware.likeness.service import LikenessService


class PersonaConfigError(ValueError):
    """The ``personas:`` section is invalid; ``problems`` name each entry and field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid personas in candor.yaml:\n  " + "\n  ".join(problems))
        self.problems = problems


def validate_config_personas(personas: list[dict[str, Any]]) -> list[PersonaIn]:
    """Parse every entry; raise PersonaConfigError listing all problems (``personas[i].field: ...``)."""
    specs: list[PersonaIn] = []
    problems: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(personas):
        try:
            spec = PersonaIn.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                problems.append(f"personas[{i}]{'.' + loc if loc else ''}: {err['msg'].removeprefix('Value error, ')}")
            continue
        if spec.id in seen:
            problems.append(f"personas[{i}].id: duplicate persona id {spec.id!r}")
        seen.add(spec.id)
        specs.append(spec)
    if problems:
        raise PersonaConfigError(problems)
    return specs


async def sync_config_personas(service: LikenessService, personas: list[dict[str, Any]]) -> list[Persona]:
    """Create or update the configured personas (audited with actor ``config``); returns them as stored."""
    out: list[Persona] = []
    for spec in validate_config_personas(personas):
        existing = await service.store.get_persona(spec.id)
        if existing is None:
            try:
                out.append(await service.add_persona(spec, actor="config"))
                continue
            except CandorError as exc:
                if exc.param != "id":
                    raise
                # another replica created it between our read and write: update it like any other
        changes: dict[str, Any] = {"display_name": spec.display_name, "relationship": spec.relationship,
                                   "likeness": spec.likeness}
        if not spec.enabled:
            changes["enabled"] = False
        out.append(await service.patch_persona(spec.id, PersonaPatch(**changes), actor="config"))
    return out
