"""A scripted model server: speaks the vendors' APIs so real agent CLIs can run offline.

Used by cao's tests of the real CLIs, and by users who want to rehearse an agent team without a
model (see docs/model-server.md). One module per API; the rules are shared (``rules.py``).
"""
