"""Policies: the YAML files operators edit, validated, explained, tested and reloaded live.

``model`` holds the schema, ``loader`` reads files and resolves ``extends:``, ``checks`` the whole-policy
rules, ``registry`` the running set (atomic swaps, file watch, SIGHUP), ``explain``/``cases``/``runner``/
``cli`` the ``candor policy`` verbs, ``catalogue`` the requirement IDs policies cite.
"""

from middleware.policy.catalogue import CATALOGUE, Requirement
from middleware.policy.loader import load_policy_dirs, load_policy_file
from middleware.policy.model import Policy, Text
from middleware.policy.registry import PolicyRegistry, ReloadResult, UnknownPolicyError, builtin_packs_dir, policy_dirs

__all__ = [
    "CATALOGUE",
    "Policy",
    "PolicyRegistry",
    "ReloadResult",
    "Requirement",
    "Text",
    "UnknownPolicyError",
    "builtin_packs_dir",
    "load_policy_dirs",
    "load_policy_file",
    "policy_dirs",
]
