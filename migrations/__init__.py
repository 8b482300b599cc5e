"""Alembic migrations for energy-coop (run with ``energy-coop db upgrade``; the app never migrates itself)."""
