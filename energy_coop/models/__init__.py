"""Typed SQLAlchemy 2 models, one module per aggregate. Import from here."""

from energy_coop.models.assets import ARRAY_TYPES, ASSET_KINDS, METER_KINDS, Asset, Meter
from energy_coop.models.audit import AuditEntry, AuditHead
from energy_coop.models.base import Base, utcnow
from energy_coop.models.efficiency import (HEATING_FUELS, INCENTIVE_RULES, MEASURE_CATEGORIES,
                                           MEASURE_STATUSES, EnergyAudit, IncentiveAward, IncentivePayment,
                                           IncentiveProgramme, Measure, Premises)
from energy_coop.models.forecasts import Forecast
from energy_coop.models.import_profiles import ImportProfile
from energy_coop.models.jobs import JOB_OUTCOMES, JobRun
from energy_coop.models.ledger import ENTRY_KINDS, GENESIS_HASH, AllocationRun, LedgerEntry, LedgerHead
from energy_coop.models.members import MEMBER_TYPES, ROLES, ApiToken, Member, SignInFailure, User, WebSession
from energy_coop.models.rates import CreditRate
from energy_coop.models.readings import ImportBatch, Reading, ReadingRevision
from energy_coop.models.settings import CoopSetting
from energy_coop.models.shares import SHARE_KINDS, ShareTransaction
from energy_coop.models.statements import IssuedMonth, IssuedStatement
from energy_coop.models.submissions import ReadingSubmission

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
    "AuditHead",
    "Base",
    "CoopSetting",
    "CreditRate",
    "Forecast",
    "ImportBatch",
    "ImportProfile",
    "IssuedMonth",
    "IssuedStatement",
    "JOB_OUTCOMES",
    "JobRun",
    "Member",
    "Meter",
    "Reading",
    "ReadingRevision",
    "ReadingSubmission",
    "SignInFailure",
    "ShareTransaction",
    "User",
    "WebSession",
    "utcnow",
]
