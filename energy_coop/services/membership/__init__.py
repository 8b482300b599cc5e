"""Membership from application to assembly (SPEC 14): online applications, waiting lists, programme rules,
share certificates, assemblies and votes.

Empty until wave 2 lands here. Sign-in accounts stay in :mod:`energy_coop.services.accounts`; this package is
about the member as a member of the co-operative.
"""
