"""Runs ``candor serve``'s app with every outgoing connection and name lookup recorded.

Python audit hooks see ``socket.connect`` and ``socket.getaddrinfo`` from any library in the process,
so the test that starts this probe can prove where Candor, LiteLLM and Guardrails AI try to connect.
The default asyncio loop is used (uvloop connects in C, out of the hooks' sight); what the application
code attempts does not depend on the loop.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

_LOG = open(os.environ["CANDOR_EGRESS_LOG"], "a", buffering=1)  # noqa: SIM115 - lives as long as the process


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect":
        _LOG.write(json.dumps({"event": event, "address": repr(args[1])}) + "\n")
    elif event == "socket.getaddrinfo":
        _LOG.write(json.dumps({"event": event, "host": repr(args[0]), "port": repr(args[1])}) + "\n")


sys.addaudithook(_hook)


def main() -> None:
    import uvicorn

    # Guardrails AI in the same process: build a guard and validate, as an operator's validator would
    from middleware.detectors.guardrails_setup import make_guard
    from middleware.detectors.validators import HumanClaimValidator

    guard = make_guard([HumanClaimValidator(truthful_statement="I am an AI.", on_fail="fix")])
    guard.validate("I'm a real person, not a bot. Nice to meet you.")

    from adapters.server.serve import app_factory

    port = int(sys.argv[1])
    uvicorn.run(app_factory, factory=True, host="127.0.0.1", port=port, loop="asyncio", log_level="warning",
                lifespan="on")


if __name__ == "__main__":
    main()
