"""``python -m cao.mock_agent``."""

from cao.mock_agent.main import main

raise SystemExit(main())
