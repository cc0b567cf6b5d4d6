"""The social networks: what each accepts (``limits``: the §3 table, names and aliases)
and how a post reaches each (``adapters``: one per way of publishing, behind one small
interface, so the publishing flow has no branches per network).

The limits' names are importable from here (``from bot.networks import label``); the
adapters are imported as ``bot.networks.adapters`` by the publishing flow only.
"""

from bot.networks.limits import (
    ALIASES,
    COUNTINGS,
    DEFAULT_RULES,
    LABELS,
    NETWORKS,
    Counting,
    NetworkRules,
    apply_overrides,
    canonical,
    label,
)

__all__ = [
    "ALIASES",
    "COUNTINGS",
    "DEFAULT_RULES",
    "LABELS",
    "NETWORKS",
    "Counting",
    "NetworkRules",
    "apply_overrides",
    "canonical",
    "label",
]
