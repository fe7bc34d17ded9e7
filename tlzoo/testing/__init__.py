"""The conformance kit behind ``tlzoo check``, importable by plugin authors in their own test suites.

A plugin's tests can run the whole kit in one assertion::

    from tlzoo.testing import assert_plugin_conforms

    def test_conforms(tmp_path):
        assert_plugin_conforms("tlzoo-mytask", workdir=tmp_path)

or call the single checks (:func:`check_light_import`, :func:`check_specs`, :func:`check_task`) to
get one pytest test per check. Importing this module is cheap; the task checks import the engine.
"""

from tlzoo.testing.kit import (
    HEAVY_MODULES,
    CheckResult,
    PluginReport,
    PluginTarget,
    assert_plugin_conforms,
    check_light_import,
    check_plugin,
    check_specs,
    check_task,
    edge_case_inputs,
    find_plugin,
    plugin_specs,
)
from tlzoo.testing.threads import torch_threads

__all__ = [
    "HEAVY_MODULES",
    "CheckResult",
    "PluginReport",
    "PluginTarget",
    "assert_plugin_conforms",
    "check_light_import",
    "check_plugin",
    "check_specs",
    "check_task",
    "edge_case_inputs",
    "find_plugin",
    "plugin_specs",
    "torch_threads",
]
