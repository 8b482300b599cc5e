"""The scheduler process and its jobs (SPEC section 9).

``energy-coop scheduler`` runs :func:`jobs.scheduler.serve`: APScheduler in its own process, never inside a
web worker. Every run, scheduled, caught up or typed as ``energy-coop jobs run``, goes through
:func:`jobs.runner.run_job`, which claims (job, period) in the job-run table before doing anything; the job
functions themselves (:mod:`jobs.inbox`, :mod:`jobs.forecasts`, :mod:`jobs.allocation`) open their own
transactions and call services.
"""

import logging

# Library practice: the scheduler process configures logging; elsewhere (``jobs run``) stay quiet rather than
# letting Python's last-resort handler repeat on stderr what the command already prints.
logging.getLogger(__name__).addHandler(logging.NullHandler())
