"""The ``candor`` command's entry point: installs the composition root, then runs the engine's CLI."""

from __future__ import annotations

from adapters.root import install
from middleware.cli.main import main as cli_main


def main(argv: list[str] | None = None) -> None:
    install()
    cli_main(argv)


if __name__ == "__main__":
    main()
