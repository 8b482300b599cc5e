"""Parsers of meter-reading files (SPEC section 4): CSV and Green Button into chunks of exact readings."""
