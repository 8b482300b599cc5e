"""energy-coop: software that runs a community energy co-operative.

The domain lives here (no Flask or APScheduler imports): ``config`` and ``db`` set up the database,
``units`` makes exact energy/money values, ``models`` are the tables, ``calc`` the pure arithmetic,
``importers`` the file parsers, ``services`` the use cases and ``cli`` the ``energy-coop`` command.
"""

__version__ = "0.1.0"
