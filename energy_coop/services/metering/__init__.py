"""Meter data (SPEC section 4): importing reading files and how complete each meter's month is."""
