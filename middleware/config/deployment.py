"""The deployment config, ``candor.yaml``: what operators edit to run Candor.

Validated with pydantic; every error names the file, the line and the key. Any value can be
overridden by ``CANDOR_<SECTION>_<KEY>`` environment variables. Provider and app keys are read from
the environment only, never from the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from middleware.config.durations import Duration
from middleware.config.yamlfile import FileProblems, LocatedDocument, Problem, load_yaml_file, problems_from_validation

DEFAULT_POLICY = "cn-anthropomorphic-2026"
DEMO_MODEL = "candor-demo"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8787, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # per worker: model requests being served at once (a stream counts until its last byte); past it a
    # request is answered at once with 503 ``server_busy`` and ``Retry-After``, and recorded
    max_in_flight: int = Field(2048, ge=1, le=1_000_000)
    keep_alive: Duration = 30.0     # an idle client connection is closed after this
    backlog: int = Field(2048, ge=1, le=65535)   # connections waiting to be accepted (the kernel caps it)
    retry_after: Duration = 1.0     # the Retry-After of a 503 server_busy / upstream_pool_exhausted


class UpstreamConfig(_Section):
    """The pool of connections to the providers (one per worker, shared by every passthrough model).
    Per-model ``timeout`` (read) and ``connect_timeout`` stay on each model."""

    # connections open at once, per worker: a stream holds one for its whole length. Past it a request
    # waits at most ``pool_timeout`` for one to free up, then gets 503 ``upstream_pool_exhausted``
    max_connections: int = Field(2048, ge=1, le=1_000_000)
    pool_timeout: Duration = 0.0    # 0: answer 503 at once when every connection is in use
    keepalive_expiry: Duration = 30.0   # an idle pooled connection is closed after this


class ModelConfig(_Section):
    name: str = Field(min_length=1)
    target: str = Field(min_length=1)
    api_base: str | None = None
    api_key_env: str | None = None
    adapter: Literal["auto", "passthrough", "litellm", "demo"] = "auto"
    timeout: Duration = 60.0
    connect_timeout: Duration = 5.0
    # LiteLLM: extra keyword arguments passed as they are (api_version, aws_region_name, ...)
    options: dict[str, Any] = Field(default_factory=dict)


class AppConfig(_Section):
    id: str = Field(min_length=1)
    key_env: str | None = None
    key_sha256: str | None = None
    policy: str = DEFAULT_POLICY

    @field_validator("key_sha256")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", value):
            raise ValueError("key_sha256 must be 64 hex characters: the SHA-256 of the app key")
        return value.lower() if value else value

    @model_validator(mode="after")
    def _one_key(self) -> AppConfig:
        if bool(self.key_env) == bool(self.key_sha256):
            raise ValueError(f"app {self.id!r} needs exactly one of key_env or key_sha256")
        return self


class StateConfig(_Section):
    url: str = "memory://"


class AuditConfig(_Section):
    url: str = "sqlite:///.candor/audit.db"
    # keys (middleware/audit/keys.py): env variables first, else files in key_dir (default: a directory
    # beside the database's, .candor-keys/, never the database's own); generated for SQLite unless false
    key_dir: str | None = None
    generate_keys: bool | None = None
    signing_key_env: str = "CANDOR_SIGNING_KEY"
    pseudonym_key_env: str = "CANDOR_PSEUDONYM_KEY"
    master_key_env: str = "CANDOR_MASTER_KEY"
    public_key: str | None = None  # where the signing public key is exported (default key_dir)
    trusted_keys: list[str] = Field(default_factory=list)  # older public keys verify still accepts
    anchor_file: str | None = None  # append-only copy of checkpoints and heads, off the database
    spool_dir: str | None = None  # fail-open spool (default: the SQLite database's directory/spool)
    witness_url: str | None = None  # signed checkpoints are also POSTed there (durably, retried)
    witness_secret_env: str = "CANDOR_WITNESS_TOKEN"  # optional bearer token for the witness
    max_event_bytes: int = Field(65_536, ge=4096)  # one event's canonical JSON
    max_content_bytes: int = Field(4_194_304, ge=4096)  # one event's message content
    unauthenticated_interval: Duration = 60.0  # one aggregated `unauthenticated` event per interval
    checkpoint_every: int = Field(1000, ge=1)
    checkpoint_interval: Duration = 60.0
    batch_max: int = Field(1000, ge=1)
    timeout: Duration = 5.0  # a store operation slower than this counts as the store being down
    retry_interval: Duration = 1.0


class AlertsConfig(_Section):
    webhook_url: str | None = None
    secret_env: str = "CANDOR_WEBHOOK_SECRET"
    timeout: Duration = 5.0
    # delivery retries (middleware/alerts/retry.py): the n-th retry waits
    # min(retry_max, retry_initial * retry_multiplier**(n-1)), spread by +/- retry_jitter
    retry_initial: Duration = 1.0
    retry_max: Duration = 300.0
    retry_multiplier: float = Field(2.0, ge=1.0, le=10.0)
    retry_jitter: float = Field(0.2, ge=0.0, le=1.0)
    give_up_after: Duration = 604800.0  # 7d: then the alert is marked failed (still listed, never dropped)
    poll_interval: Duration = 1.0  # how soon alerts enqueued by other processes are picked up
    # the raw user id goes into the alert (beside the pseudonym), so the operator can find the person; the
    # webhook is the operator's own. Set false when the webhook is run by a third party.
    include_user_id: bool = True


class AdminConfig(_Section):
    key_env: str = "CANDOR_ADMIN_KEY"
    auditor_key_env: str = "CANDOR_AUDITOR_KEY"


class OperatorConfig(_Section):
    """Who runs the service: ``code`` (else ``name``) fills the implicit label's ContentProducer and
    ContentPropagator; notices may say ``{operator}`` and ``{filing_number}`` (middleware/config/operator.py)."""

    name: str | None = Field(None, min_length=1, max_length=200)
    code: str | None = Field(None, min_length=1, max_length=128)
    filing_number: str | None = Field(None, min_length=1, max_length=128)

    @field_validator("code")
    @classmethod
    def _ascii(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r'[!#-\[\]-~]+', value):
            raise ValueError("operator.code goes into the implicit label: printable ASCII without spaces, quotes "
                             "or backslashes (LABEL-IMPLICIT-1)")
        return value


class MediaConfig(_Section):
    """Images and audio (``/v1/images/*``, ``/v1/audio/speech``; middleware/media/README.md)."""

    max_upload_bytes: int = Field(20_971_520, ge=1024)     # an images/edits request (multipart)
    max_file_bytes: int = Field(26_214_400, ge=1024)       # one generated file, decoded or fetched
    fetch_timeout: Duration = 20.0                         # fetching an image the provider returned as a URL
    c2pa_cert: str | None = None          # PEM certificate chain: also sign a C2PA manifest (optional)
    c2pa_key: str | None = None           # its PEM private key
    c2pa_alg: Literal["es256", "es384", "ps256", "ed25519"] = "es256"


class CandorConfig(_Section):
    server: ServerConfig = Field(default_factory=ServerConfig)
    models: list[ModelConfig] = Field(default_factory=list)
    apps: list[AppConfig] = Field(default_factory=list)
    policies_dir: str = "./policies"
    state: StateConfig = Field(default_factory=StateConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    admin: AdminConfig = Field(default_factory=AdminConfig)
    operator: OperatorConfig = Field(default_factory=OperatorConfig)
    personas: list[dict[str, Any]] = Field(default_factory=list)
    media: MediaConfig = Field(default_factory=MediaConfig)
    upstream: UpstreamConfig = Field(default_factory=UpstreamConfig)
    # where the file came from (None: built-in defaults); relative paths resolve against it
    source: str | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _unique(self) -> CandorConfig:
        for what, names in (("model", [m.name for m in self.models]), ("app", [a.id for a in self.apps])):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"duplicate {what} name(s): {', '.join(dupes)}")
        return self

    @property
    def base_dir(self) -> Path:
        return Path(self.source).resolve().parent if self.source else Path.cwd()

    def resolve_path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    @property
    def is_builtin_default(self) -> bool:
        return self.source is None


_SECTIONS = ("server", "state", "audit", "alerts", "admin", "operator", "media", "upstream")
_TOP_LEVEL = ("policies_dir",)
_NOT_OVERRIDES = {"CANDOR_CONFIG", "CANDOR_REQUIRE_SERVICES", "CANDOR_DEV_APP_KEY"}


def _secret_variables(data: dict[str, Any]) -> set[str]:
    """Names of the variables that hold keys (``admin.key_env: CANDOR_ADMIN_KEY`` and the like): they are
    values the config points at, not overrides of it."""
    names: set[str] = set()
    for section in _SECTIONS:
        model = CandorConfig.model_fields[section].annotation
        given = data.get(section) if isinstance(data.get(section), dict) else {}
        for key, info in model.model_fields.items():  # type: ignore[union-attr]
            if key.endswith("_env"):
                value = given.get(key, info.default) if isinstance(given, dict) else info.default
                if isinstance(value, str):
                    names.add(value)
    return names


def env_overrides(data: dict[str, Any], environ: dict[str, str] | os._Environ[str]) -> list[Problem]:
    """Apply ``CANDOR_<SECTION>_<KEY>`` variables to ``data`` in place; report unknown ones."""
    problems: list[Problem] = []
    secrets = _secret_variables(data)
    for name, raw in environ.items():
        if not name.startswith("CANDOR_") or name in _NOT_OVERRIDES or name in secrets:
            continue
        rest = name[len("CANDOR_"):].lower()
        value: Any = yaml.safe_load(raw) if raw.strip() else raw
        if rest in _TOP_LEVEL:
            data[rest] = value if not isinstance(value, int | float) else raw
            continue
        for section in _SECTIONS:
            if rest.startswith(section + "_"):
                key = rest[len(section) + 1:]
                if key not in CandorConfig.model_fields[section].annotation.model_fields:  # type: ignore[union-attr]
                    problems.append(Problem(f"${name}", None, f"{section}.{key}",
                                            f"unknown key {key!r} in section {section!r}"))
                    break
                sec = data.setdefault(section, {})
                if not isinstance(sec, dict):
                    break
                # strings stay strings where the field is a string (a URL that looks like a number)
                sec[key] = raw if key in ("url", "host", "key_env", "auditor_key_env", "secret_env", "name", "code",
                                          "filing_number", "c2pa_cert", "c2pa_key") else value
                break
    return problems


def load_config(path: str | Path | None = None, environ: dict[str, str] | None = None) -> CandorConfig:
    """Load ``candor.yaml`` (or the built-in defaults when ``path`` is None), apply env overrides."""
    env = os.environ if environ is None else environ
    doc = LocatedDocument(path="<built-in defaults>", data={}) if path is None else load_yaml_file(path)
    data = dict(doc.data)
    problems = env_overrides(data, env)
    if problems:
        raise FileProblems(problems)
    try:
        cfg = CandorConfig.model_validate(data)
    except ValidationError as exc:
        raise FileProblems(problems_from_validation(exc, doc, CandorConfig)) from exc
    cfg.source = str(Path(path).resolve()) if path is not None else None
    if not cfg.models:
        cfg.models = [ModelConfig(name=DEMO_MODEL, target="candor/demo", adapter="demo")]
    return cfg


def find_config(explicit: str | None) -> str | None:
    """``--config``, else ``$CANDOR_CONFIG``, else ``./candor.yaml`` when present, else None (defaults)."""
    if explicit:
        return explicit
    env = os.environ.get("CANDOR_CONFIG")
    if env:
        return env
    return "candor.yaml" if Path("candor.yaml").is_file() else None
