"""The 惠企 web platform: a thin FastAPI layer (JSON API under /api/v1 and Jinja2 + HTMX pages)
over the same core functions the CLI calls."""
