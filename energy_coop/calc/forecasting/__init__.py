"""Pure forecasting physics (SPEC section 7): the pvlib model chain and the weather it needs, as values.

No file is read here: weather files and typical years come from :mod:`energy_coop.importers.weather`.
"""
