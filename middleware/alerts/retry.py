"""When to try a failed delivery again: exponential backoff with jitter, and when to give up.

Jitter spreads retries from many replicas (or many alerts queued during one outage) so a webhook
coming back is not hit by all of them in the same instant.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from middleware.config.deployment import AlertsConfig


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    initial: float = 1.0
    maximum: float = 300.0
    multiplier: float = 2.0
    jitter: float = 0.2  # each wait is the base wait times a factor drawn from [1 - jitter, 1 + jitter]
    give_up_after: float = 604_800.0  # seconds after the alert was created

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.maximum < self.initial or self.multiplier < 1 or not 0 <= self.jitter <= 1:
            raise ValueError("retry policy: need 0 < initial <= maximum, multiplier >= 1, 0 <= jitter <= 1")

    @classmethod
    def from_config(cls, cfg: AlertsConfig) -> RetryPolicy:
        return cls(cfg.retry_initial, max(cfg.retry_max, cfg.retry_initial), cfg.retry_multiplier,
                   cfg.retry_jitter, cfg.give_up_after)

    def base_delay(self, failures: int) -> float:
        """The wait after the ``failures``-th failed attempt, before jitter."""
        exponent = min(max(failures - 1, 0), 64)  # bounded: no float overflow after a long outage
        return float(min(self.maximum, self.initial * self.multiplier ** exponent))

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        factor = 1.0 + self.jitter * (2.0 * (rng or random).random() - 1.0)
        return self.base_delay(failures) * factor
