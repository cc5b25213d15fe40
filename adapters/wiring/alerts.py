"""Build the alert outbox from the deployment config: store, webhook sender and delivery task.

- store: ``cfg.audit.url`` (the audit log's database), table ``alerts_outbox``;
- sender: ``alerts.webhook_url`` signed with the secret in ``$<alerts.secret_env>``; refused at
  start-up when the URL is set but the secret is not (an unsigned alert could be forged or read
  as genuine by anyone who learns the URL); none when no URL is set: alerts then stay pending and
  are listed by ``GET /admin/alerts?status=pending``;
- retries: ``alerts.retry_*``, ``alerts.give_up_after``, ``alerts.poll_interval``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from adapters.alerts.webhook import WebhookSender
from adapters.postgres.alerts_outbox import PostgresOutboxStore
from adapters.sqlite.alerts_outbox import SqliteOutboxStore
from adapters.stores.url import choose_store
from middleware.alerts.outbox import AlertOutbox, OnAttempt
from middleware.alerts.retry import RetryPolicy
from middleware.alerts.store import AlertSender, OutboxStore
from middleware.config.deployment import CandorConfig


def outbox_store(cfg: CandorConfig, url: str | None = None) -> OutboxStore:
    """The outbox store for ``url`` (default ``cfg.audit.url``); not opened yet."""
    return choose_store(cfg, url, sqlite=SqliteOutboxStore, postgres=PostgresOutboxStore)


def webhook_sender(cfg: CandorConfig) -> AlertSender | None:
    url = cfg.alerts.webhook_url
    if not url:
        return None
    env = cfg.alerts.secret_env
    if not os.environ.get(env):
        raise ValueError(f"alerts.webhook_url is set but ${env} is empty: set the webhook secret (any long random "
                         "string shared with the receiver) so alerts are signed")

    def secret() -> bytes:
        value = os.environ.get(env)
        if not value:
            raise RuntimeError(f"${env} was unset after start-up: alerts cannot be signed")
        return value.encode()

    return WebhookSender(url, secret, timeout=cfg.alerts.timeout)


@dataclass
class AlertsRuntime:
    store: OutboxStore
    sender: AlertSender | None
    outbox: AlertOutbox

    async def close(self) -> None:
        await self.outbox.close()
        if self.sender is not None:
            await self.sender.close()
        await self.store.close()


async def build_alerts(cfg: CandorConfig, *, on_attempt: OnAttempt | None = None, store_url: str | None = None,
                       sender: AlertSender | None = None, start: bool = True) -> AlertsRuntime:
    """Open the outbox (migrating it) and start delivering pending alerts (those left by earlier
    processes included). ``sender`` replaces the webhook sender built from the config."""
    sender = sender or webhook_sender(cfg)
    store = outbox_store(cfg, store_url)
    try:
        await store.open()
    except BaseException:
        if sender is not None:
            await sender.close()
        raise
    # a lease must outlast one attempt (the sender's timeout), with room for a slow database
    outbox = AlertOutbox(store, sender, retry=RetryPolicy.from_config(cfg.alerts), on_attempt=on_attempt,
                         poll_interval=cfg.alerts.poll_interval, lease=max(30.0, cfg.alerts.timeout * 3))
    if start:
        await outbox.start()
    return AlertsRuntime(store, sender, outbox)
