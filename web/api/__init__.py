def init_api(app):
    """Registers the JSON API (built on the api branch)."""
