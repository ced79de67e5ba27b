"""Command line surface (Typer + Rich)."""
