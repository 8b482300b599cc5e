"""Typed SQLAlchemy 2 models, one module per aggregate. Import from here."""

from .assets import ARRAY_TYPES, ASSET_KINDS, METER_KINDS, Asset, Meter
from .audit import AuditEntry
from .base import Base, utcnow
from .efficiency import (
    HEATING_FUELS,
    INCENTIVE_RULES,
    MEASURE_CATEGORIES,
    MEASURE_STATUSES,
    EnergyAudit,
    IncentiveAward,
    IncentivePayment,
    IncentiveProgramme,
    Measure,
    Premises,
)
from .forecasts import Forecast
from .jobs import JOB_OUTCOMES, JobRun
from .ledger import ENTRY_KINDS, GENESIS_HASH, AllocationRun, LedgerEntry, LedgerHead
from .members import MEMBER_TYPES, ROLES, ApiToken, Member, SignInFailure, User, WebSession
from .rates import CreditRate
from .readings import ImportBatch, Reading, ReadingRevision
from .shares import SHARE_KINDS, ShareTransaction

__all__ = [
    "ENTRY_KINDS",
    "HEATING_FUELS",
    "INCENTIVE_RULES",
    "MEASURE_CATEGORIES",
    "MEASURE_STATUSES",
    "EnergyAudit",
    "IncentiveAward",
    "IncentivePayment",
    "IncentiveProgramme",
    "Measure",
    "Premises",
    "GENESIS_HASH",
    "AllocationRun",
    "LedgerEntry",
    "LedgerHead",
    "ARRAY_TYPES",
    "ASSET_KINDS",
    "METER_KINDS",
    "MEMBER_TYPES",
    "ROLES",
    "SHARE_KINDS",
    "ApiToken",
    "Asset",
    "AuditEntry",
    "Base",
    "CreditRate",
    "Forecast",
    "ImportBatch",
    "JOB_OUTCOMES",
    "JobRun",
    "Member",
    "Meter",
    "Reading",
    "ReadingRevision",
    "SignInFailure",
    "ShareTransaction",
    "User",
    "WebSession",
    "utcnow",
]
