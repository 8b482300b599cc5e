"""The scheduler process and its jobs (SPEC section 9).

``energy-coop scheduler`` runs :func:`jobs.scheduler.serve`: APScheduler in its own process, never inside a
web worker. Every run, scheduled, caught up or typed as ``energy-coop jobs run``, goes through
:func:`jobs.runner.run_job`, which claims (job, period) in the job-run table before doing anything; the job
functions themselves (:mod:`jobs.inbox`, :mod:`jobs.forecasts`, :mod:`jobs.allocation`) open their own
transactions, call services and hand back a :class:`jobs.result.WorkResult`.

The bookkeeping of the job-run table: :mod:`jobs.specs` (the jobs, their leases and retry limits),
:mod:`jobs.runs` (claim, finish, list), :mod:`jobs.periods` (period keys and the catch-up),
:mod:`jobs.processes` (is a run's process alive), :mod:`jobs.recovery` (resolving abandoned runs) and
:mod:`jobs.inbox_files` (the inbox's folders and file moves).
"""

import logging

# Library practice: the scheduler process configures logging; elsewhere (``jobs run``) stay quiet rather than
# letting Python's last-resort handler repeat on stderr what the command already prints.
logging.getLogger(__name__).addHandler(logging.NullHandler())
