"""cao plugins: Python packages that observe the server's events (entry point group ``cao.plugins``).

Write a ``CaoPlugin`` subclass, declare it in your package's ``pyproject.toml``::

    [project.entry-points."cao.plugins"]
    my-plugin = "my_package:MyPlugin"

and install the package into cao-server's environment. See docs/plugins.md.
"""

from cao.events import KINDS, Event
from cao.plugins.base import CaoPlugin, PluginContext

__all__ = ["KINDS", "CaoPlugin", "Event", "PluginContext"]
