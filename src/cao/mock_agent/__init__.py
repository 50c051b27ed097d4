"""cao-mock-agent: an offline stand-in for an AI coding CLI, for tests and demos.

It draws a Claude-Code-like screen (idle prompt box, spinner, reply blocks, permission
box, errors) and answers from a script instead of a model. See docs/mock-agent.md.
"""
