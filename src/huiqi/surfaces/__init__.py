"""Presentation surfaces: terminal rendering and exports over the typed core."""
