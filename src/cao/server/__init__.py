"""cao-server: the FastAPI app that owns tmux and the store."""
