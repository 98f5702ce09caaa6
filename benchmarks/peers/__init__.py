"""Peer libraries run in their own virtualenvs, measured side by side with transferkit."""
