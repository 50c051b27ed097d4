"""Team files (Docker cagent's agent configuration, for real CLIs): one YAML file describes a team.

``loader`` reads and checks a file (every error names the key, its line and the fix); ``fields``
says what cao does with each cagent field; ``models`` holds the result; ``graph`` checks who may
delegate to whom; ``modelref`` maps ``provider/model`` to a cao provider; ``members`` turns a member
into an agent profile; ``policy`` enforces the team at run time (allowed delegations, depth);
``structured`` checks a member's structured output; ``service`` launches a team.
"""
