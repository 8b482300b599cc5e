"""A solar asset's physical parameters (SPEC section 3, assets.csv): their limits and the array they make.

Pure values; the constants are PVWatts v5's defaults as used by the model chain of
:mod:`energy_coop.calc.forecasting.forecast`.
"""

from __future__ import annotations

import math
import zoneinfo
from dataclasses import dataclass

import pvlib

from energy_coop.vocabulary import ARRAY_TYPES

#: SAPM cell temperature parameter set per array type, for ``temperature_model='sapm'``
#: (``pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS['sapm']``); the default is PVWatts' Fuentes (``thermal.INOCT``).
SAPM_PARAMETER_SET = {
    "fixed_open_rack": "open_rack_glass_polymer",
    "fixed_roof_mount": "close_mount_glass_glass",
    "single_axis": "open_rack_glass_polymer",
}

GAMMA_PDC_STANDARD = -0.0047  # [1/°C]
GAMMA_PDC_PREMIUM = -0.0035  # [1/°C]
ETA_INV_NOM = 0.96  # [unitless]
ALBEDO = 0.2  # [unitless]
TRACKER_MAX_ANGLE = 45.0  # [degrees]
TRACKER_GCR = 0.4  # [unitless]
DEFAULT_LOSSES_PCT = 14.0  # [%]
#: DC/AC ratios outside this range are refused at registration [unitless].
DC_AC_RATIO_RANGE = (0.5, 2.5)
#: Used when the weather has no air temperature or wind speed (pvlib ``ModelChain``'s defaults).


def validate_array(
    *,
    latitude,
    longitude,
    capacity_kw_dc,
    capacity_kw_ac,
    tilt_deg,
    azimuth_deg,
    losses_pct=DEFAULT_LOSSES_PCT,
    array_type="fixed_open_rack",
    timezone=None,
    altitude_m=None,
) -> list[str]:
    """Every reason the given solar asset parameters are impossible (empty list when they are fine).

    Parameters
    ----------
    latitude, longitude : float
        [degrees], −90..90 and −180..180.
    capacity_kw_dc, capacity_kw_ac : float
        Nameplate DC (modules) and AC (inverter) capacity [kW], both > 0, with DC/AC in 0.5..2.5.
    tilt_deg : float
        Surface (or tracker axis) tilt from horizontal [degrees], 0..90.
    azimuth_deg : float
        Surface (or tracker axis) azimuth clockwise from north [degrees], 0..360 (180 = south).
    losses_pct : float
        Combined system losses [%], 0..100 (100 excluded: nothing would be produced).
    array_type : str
        One of ``fixed_open_rack``, ``fixed_roof_mount``, ``single_axis``.
    timezone : str, optional
        IANA time zone name.
    altitude_m : float, optional
        [m], −500..9000.

    Returns
    -------
    list of str
        Plain-language problems, one per field at fault.
    """
    errors: list[str] = []

    def number(name, value, required=True):
        if value is None:
            if required:
                errors.append(f"{name} is missing")
            return None
        if isinstance(value, bool):
            errors.append(f"{name} must be a number")
            return None
        try:
            v = float(value)
        except (TypeError, ValueError):
            errors.append(f"{name} {value!r} is not a number")
            return None
        if not math.isfinite(v):
            errors.append(f"{name} {value!r} is not a finite number")
            return None
        return v

    def within(name, v, lo, hi, unit, lo_open=False, hi_open=False):
        if v is None:
            return
        below = v <= lo if lo_open else v < lo
        above = v >= hi if hi_open else v > hi
        if below or above:
            lo_s = f"more than {lo:g}" if lo_open else f"{lo:g}"
            hi_s = f"less than {hi:g}" if hi_open else f"{hi:g}"
            errors.append(f"{name} {v:g} {unit} is impossible: it must be from {lo_s} to {hi_s} {unit}")

    lat = number("latitude", latitude)
    within("latitude", lat, -90, 90, "degrees")
    lon = number("longitude", longitude)
    within("longitude", lon, -180, 180, "degrees")
    dc = number("capacity_kw_dc", capacity_kw_dc)
    ac = number("capacity_kw_ac", capacity_kw_ac)
    for name, v in (("capacity_kw_dc", dc), ("capacity_kw_ac", ac)):
        if v is not None and v <= 0:
            errors.append(f"{name} {v:g} kW is impossible: a capacity must be more than 0 kW")
    if dc is not None and ac is not None and dc > 0 and ac > 0:
        ratio = dc / ac
        lo, hi = DC_AC_RATIO_RANGE
        if not lo <= ratio <= hi:
            errors.append(
                f"the DC/AC ratio {ratio:.2f} (capacity_kw_dc {dc:g} kW / capacity_kw_ac {ac:g} kW) is not "
                f"plausible: it must be from {lo:g} to {hi:g}; check that the two capacities are not swapped "
                "or in different units"
            )
    tilt = number("tilt_deg", tilt_deg)
    within("tilt_deg", tilt, 0, 90, "degrees")
    az = number("azimuth_deg", azimuth_deg)
    within("azimuth_deg", az, 0, 360, "degrees")
    losses = number("losses_pct", losses_pct)
    within("losses_pct", losses, 0, 100, "%", hi_open=True)
    if array_type not in ARRAY_TYPES:
        errors.append(f"array_type {array_type!r} is not one of {', '.join(ARRAY_TYPES)}")
    if timezone is not None:
        try:
            zoneinfo.ZoneInfo(str(timezone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors.append(f"timezone {timezone!r} is not an IANA time zone name (e.g. Europe/Berlin)")
    alt = number("altitude_m", altitude_m, required=False)
    within("altitude_m", alt, -500, 9000, "m")
    return errors


@dataclass(frozen=True)
class SolarArray:
    """The physical parameters of one solar asset (SPEC section 3, assets.csv).

    Floats: these are physical parameters, not money. Construction refuses impossible values
    (:func:`validate_array`) with a ``ValueError`` listing every problem.

    Attributes
    ----------
    latitude, longitude : float [degrees]
    timezone : str (IANA name; local times of forecasts are in it)
    capacity_kw_dc, capacity_kw_ac : float [kW]
    tilt_deg, azimuth_deg : float [degrees] (azimuth clockwise from north, 180 = south)
    losses_pct : float [%], default 14
    array_type : ``fixed_open_rack`` (default), ``fixed_roof_mount`` or ``single_axis``
    altitude_m : float or None [m]; None looks it up in the altitude map shipped with pvlib
    code : str, the asset code; names the array's column in results (its position when empty)
    gamma_pdc : float [1/°C], default −0.0047 (PVWatts standard module)
    eta_inv_nom : float [unitless], default 0.96
    albedo : float [unitless], default 0.2
    """

    latitude: float
    longitude: float
    timezone: str
    capacity_kw_dc: float
    capacity_kw_ac: float
    tilt_deg: float
    azimuth_deg: float
    losses_pct: float = DEFAULT_LOSSES_PCT
    array_type: str = "fixed_open_rack"
    altitude_m: float | None = None
    code: str = ""
    gamma_pdc: float = GAMMA_PDC_STANDARD
    eta_inv_nom: float = ETA_INV_NOM
    albedo: float = ALBEDO

    def __post_init__(self):
        errors = validate_array(
            latitude=self.latitude, longitude=self.longitude, capacity_kw_dc=self.capacity_kw_dc,
            capacity_kw_ac=self.capacity_kw_ac, tilt_deg=self.tilt_deg, azimuth_deg=self.azimuth_deg,
            losses_pct=self.losses_pct, array_type=self.array_type, timezone=self.timezone,
            altitude_m=self.altitude_m,
        )
        if not 0 < self.eta_inv_nom <= 1:
            errors.append(f"eta_inv_nom {self.eta_inv_nom:g} must be in (0, 1]")
        if not 0 <= self.albedo <= 1:
            errors.append(f"albedo {self.albedo:g} must be in 0..1")
        if not -0.02 <= self.gamma_pdc <= 0:
            errors.append(f"gamma_pdc {self.gamma_pdc:g} /°C must be in -0.02..0")
        if errors:
            label = f"solar array {self.code!r}" if self.code else "solar array"
            raise ValueError(f"{label} refused: " + "; ".join(errors))

    @property
    def site(self) -> tuple:
        """``(latitude, longitude, altitude_m, timezone)``: arrays with equal sites share solar position."""
        return (float(self.latitude), float(self.longitude), self.altitude_m, self.timezone)


def site_altitude(array: SolarArray) -> float:
    """The array's altitude [m]: its own, else pvlib's shipped altitude map at its latitude and longitude."""
    if array.altitude_m is not None:
        return float(array.altitude_m)
    return float(pvlib.location.lookup_altitude(array.latitude, array.longitude))
