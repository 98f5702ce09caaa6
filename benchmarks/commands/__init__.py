"""Subcommands of the transferkit CLI, one module each."""
