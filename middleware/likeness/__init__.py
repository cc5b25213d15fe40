"""Persona registry and likeness consent ledger (DVH-CONSENT-1/2, DVH-DECEASED-1, DVH-LIKENESS-1).

- ``models``: Persona, Likeness, Subject, Consent (contract 3.4);
- ``store``: the LikenessStore / ChangeBus interfaces (adapters: SQLite, PostgreSQL, Redis);
- ``service``: the operations and their rules, reporting every change through ``on_change``;
- ``enforce``: LikenessGate, the cached per-request decision;
- ``api`` / ``cli`` / ``configsync``: admin routes, ``candor persona|consent``, ``personas:`` in candor.yaml.
"""

from middleware.likeness.configsync import PersonaConfigError, sync_config_personas, validate_config_personas
from middleware.likeness.enforce import GateResult, LikenessGate, PersonaWatch
from middleware.likeness.models import Consent, ConsentIn, Likeness, Persona, PersonaIn, PersonaPatch, Subject
from middleware.likeness.service import ChangeRecord, LikenessService, OnChange
from middleware.likeness.store import ChangeBus, GateState, LikenessStore

__all__ = [
    "ChangeBus", "ChangeRecord", "Consent", "ConsentIn", "GateResult", "GateState", "Likeness", "LikenessGate",
    "LikenessService", "LikenessStore", "OnChange", "Persona", "PersonaConfigError", "PersonaIn", "PersonaPatch",
    "PersonaWatch", "Subject", "sync_config_personas", "validate_config_personas",
]
