"""Mail (SPEC 15): the messages the co-op sends (applications, statements issued, payouts, assemblies), queued
in the database in the caller's transaction and delivered by a job, so a rolled-back change sends nothing.

Empty until wave 2 lands here; the SMTP delivery is an entry point's job (``jobs/``), not a service's.
"""
