"""The plugin contract: the hooks a tlzoo plugin may implement.

A plugin module marks its functions with ``tlzoo.hookimpl``. Following pluggy's rule, an
implementation may accept any subset of a hook's arguments, so hooks can gain arguments later
without breaking existing plugins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from tlzoo.catalog import Registry

hookspec = pluggy.HookspecMarker("tlzoo")
hookimpl = pluggy.HookimplMarker("tlzoo")


@hookspec
def tlzoo_register(registry: Registry) -> None:
    """Announce components by calling ``registry.add(Spec(...))`` for each.

    Called once per process when the catalog is first needed. Must be cheap: build nothing and
    import nothing heavy; specs point at factories by dotted path instead.
    """
