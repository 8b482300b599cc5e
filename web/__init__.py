"""The web app (SPEC section 10): an application factory; migrations are never run from here."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from energy_coop.config import Config, load_config
from energy_coop.db import get_sessionmaker


def create_app(config: Config | None = None) -> Flask:
    config = config or load_config()
    app = Flask(__name__)
    app.config.update(SECRET_KEY=config.secret_key, ENERGY_COOP=config)
    factory = get_sessionmaker(config.database_url)
    from .api import init_api

    init_api(app)

    @app.get("/")
    def index() -> str:
        from energy_coop.models import Asset, Member

        with factory.begin() as s:
            members = s.scalar(select(func.count()).select_from(Member))
            assets = s.scalar(select(func.count()).select_from(Asset))
        return (
            "<!doctype html><html lang=en><meta charset=utf-8><title>energy-coop</title>"
            f"<h1>energy-coop</h1><p>{members} members, {assets} assets.</p></html>"
        )

    return app
