"""Homes, households and solidarity (SPEC 18): credits that stay with a land-trust home when its household
changes, income limits and the solidarity pool that lowers energy burden.

Empty until wave 2 lands here; pure rules (energy-burden and pool shares) go in ``energy_coop.calc.housing``.
"""
