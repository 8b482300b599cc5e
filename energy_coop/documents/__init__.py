"""Documents for people, rendered at the edge (ARCHITECTURE.md): a layer between the entry points and the services.

An entry point (a command, a page, a job, the demo) calls one use case here; it reads figures from the services
(integers, dates, codes), renders them into files for people (PDF), and hands the files back to the services to
store. It may import services and :mod:`energy_coop.formatting`; services never import it, and it knows no web,
no scheduler and no command line.

- :mod:`energy_coop.documents.statements`: the statement PDF, and issuing a month (render and store every
  member's statement, SPEC 13).
"""
