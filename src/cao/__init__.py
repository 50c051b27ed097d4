"""cao — run real AI coding CLIs as one team in tmux."""

__version__ = "0.1.0"
