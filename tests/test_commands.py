"""The CLI's command groups (middleware/cli/commands.py): every verb of the contract is registered."""

from __future__ import annotations

from middleware.cli.commands import registered
from middleware.cli.main import build_parser


def test_every_contract_group_has_its_verbs() -> None:
    parser = build_parser(registered())
    for argv in (["policy", "check", "x.yaml"], ["audit", "verify"], ["consent", "list"], ["persona", "list"],
                 ["user", "show", "u"], ["user", "erase", "u"]):
        args = parser.parse_args(argv)
        assert callable(args.func), argv
