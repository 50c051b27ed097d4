"""Memory: what agents store for later work, by scope (global, project, session, agent), searched with
full-text search (SQLite FTS5), given to each new terminal within a budget (docs/memory.md).

Import-light on purpose (settings imports ``config``): import the submodules you need.
"""
