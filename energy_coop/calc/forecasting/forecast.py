"""Expected production of solar assets (SPEC section 7): a PVWatts-style model chain built from pvlib, explicitly.

Every step is a named pvlib function, chosen here rather than inferred (no ``ModelChain`` "infer" magic):

1. **Solar position** (:py:func:`pvlib.solarposition.get_solarposition`, NREL SPA in numpy) once per site, at
   the **midpoint** of each interval (``start + interval/2``), with the site pressure from its altitude
   (:py:func:`pvlib.atmosphere.alt2pres`) and the air temperature for refraction (12 °C when the weather has
   none, pvlib's default). ``sunlit_midpoint=True`` instead uses the midpoint of the *sunlit part* of the
   intervals containing sunrise or sunset, as NREL's PVWatts does.
   The apparent (refracted) zenith is used for transposition, angle of incidence and tracking, as in pvlib's
   ``ModelChain``.
2. **Irradiance**: the weather's two of GHI/DNI/DHI completed to three by the closure equation
   (:func:`energy_coop.calc.forecasting.weather.complete_irradiance`); with cloud cover only, clear sky scaled by cloud
   cover then DISC decomposition (:func:`energy_coop.calc.forecasting.weather.cloud_cover_to_irradiance`); with no weather,
   Ineichen clear sky (climatological Linke turbidity shipped inside pvlib) with GHI scaled by a monthly
   **typical-year factor** and decomposed with DISC (:func:`typical_year_factors`).
3. **Transposition**: the steps of :py:func:`pvlib.irradiance.get_total_irradiance` (``get_sky_diffuse``,
   ``get_ground_diffuse``, ``poa_components``, called one by one so the angle of incidence is computed once)
   with the Perez 1990 model ("allsitescomposite1990"), as PVWatts uses; extraterrestrial DNI by Spencer, relative airmass by
   Kasten-Young 1989; ground albedo 0.2 (PVWatts' default without snow).
4. **Incidence angle modifier**: :py:func:`pvlib.iam.physical` (Fresnel/Snell, air–glass, n = 1.526,
   K = 4 /m, L = 2 mm: PVWatts v5's cover model), applied to the beam part of the plane-of-array irradiance.
5. **Cell temperature** by array type: SAPM (:py:func:`pvlib.temperature.sapm_cell`) with
   ``open_rack_glass_polymer`` for open rack and single-axis trackers and ``close_mount_glass_glass`` for roof
   mount (default, vectorised); or ``temperature_model='fuentes'``, the heat-balance model PVWatts itself uses
   (:py:func:`pvlib.temperature.fuentes`, installed NOCT 45 °C open rack / 49 °C roof mount), which steps through
   time in Python and is therefore slower.
6. **DC**: :py:func:`pvlib.pvsystem.pvwatts_dc` with the asset's DC capacity and ``gamma_pdc`` (−0.0047 /°C,
   PVWatts "standard" modules; −0.0035 /°C for "premium").
7. **System losses**: DC × (1 − ``losses_pct``/100). ``losses_pct`` is the combined figure of
   :py:func:`pvlib.pvsystem.pvwatts_losses` (whose defaults combine to 14.08 %); the register's default is 14.
8. **AC**: :py:func:`pvlib.inverter.pvwatts` with ``pdc0 = capacity_kw_ac / eta_inv_nom`` and
   ``eta_inv_nom = 0.96``, so the inverter clips at the asset's AC capacity.
9. **Single-axis trackers**: :py:func:`pvlib.tracking.singleaxis`, axis tilt = ``tilt_deg``, axis azimuth =
   ``azimuth_deg``, rotation limit 45°, ground coverage ratio 0.4, backtracking (PVWatts' tracker defaults).

Arrays that share a site are computed together: the time-dependent quantities have shape ``(T, 1)`` and the
orientations ``(1, N)``, so numpy broadcasts them to ``(T, N)``; columns are processed in chunks to bound memory.

Times are tz-aware everywhere: a naive timestamp raises ``ValueError``. Interval *starts* index every result.
"""

from __future__ import annotations

import functools
import math
import os
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pvlib

from energy_coop.calc.forecasting import weather as wx

ARRAY_TYPES = ("fixed_open_rack", "fixed_roof_mount", "single_axis")
#: SAPM cell temperature parameter set per array type (``pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS['sapm']``).
SAPM_PARAMETER_SET = {
    "fixed_open_rack": "open_rack_glass_polymer",
    "fixed_roof_mount": "close_mount_glass_glass",
    "single_axis": "open_rack_glass_polymer",
}
#: Installed nominal operating cell temperature for the Fuentes model, as in PVWatts v5 [°C].
FUENTES_NOCT = {"fixed_open_rack": 45.0, "fixed_roof_mount": 49.0, "single_axis": 45.0}

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
DEFAULT_TEMP_AIR = 20.0  # [°C]
DEFAULT_WIND_SPEED = 0.0  # [m/s]
#: Air temperature for atmospheric refraction when the weather has none (pvlib's default) [°C].
REFRACTION_TEMPERATURE = 12.0
#: A monthly performance ratio below this is flagged [unitless].
DEFAULT_PR_THRESHOLD = 0.8
BANDS = ("typical", "low", "high", "clear")
CHUNK_COLUMNS = 200
HOURLY = pd.Timedelta("1h")

TMY_PATH = os.path.join(os.path.dirname(pvlib.__file__), "data", "703165TY.csv")


# --------------------------------------------------------------------------------------------------------------
# the asset


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


def _site_altitude(array: SolarArray) -> float:
    if array.altitude_m is not None:
        return float(array.altitude_m)
    return float(pvlib.location.lookup_altitude(array.latitude, array.longitude))


# --------------------------------------------------------------------------------------------------------------
# time


def _require_aware(times, what: str = "times") -> pd.DatetimeIndex:
    if isinstance(times, pd.Timestamp):
        times = pd.DatetimeIndex([times])
    if not isinstance(times, pd.DatetimeIndex):
        raise TypeError(f"{what} must be a pandas DatetimeIndex of interval starts")
    if times.tz is None:
        raise ValueError(
            f"{what} are naive (no time zone): localise them to their time zone first "
            "(e.g. index.tz_localize('Europe/Berlin')); naive timestamps are refused"
        )
    return times


def _require_interval(interval) -> pd.Timedelta:
    interval = pd.Timedelta(interval)
    if interval <= pd.Timedelta(0):
        raise ValueError(f"interval must be positive, not {interval}")
    return interval


def interval_midpoints(times: pd.DatetimeIndex, interval: pd.Timedelta) -> pd.DatetimeIndex:
    """The middle of each interval: ``times + interval/2`` (tz-aware in, tz-aware out)."""
    times = _require_aware(times)
    return times + _require_interval(interval) / 2


def _sunlit_midpoints(times, interval, latitude, longitude, timezone) -> pd.DatetimeIndex:
    """Midpoint of the sunlit part of intervals containing sunrise or sunset; plain midpoint elsewhere."""
    # pvlib finds the events of each timestamp's *local date*, so ask in the site's own time zone
    events = pvlib.solarposition.sun_rise_set_transit_spa(times.tz_convert(timezone), latitude, longitude)
    start = pd.Series(times, index=times)
    end = start + interval
    sunrise = pd.Series(pd.DatetimeIndex(events["sunrise"]).tz_convert(times.tz), index=times)
    sunset = pd.Series(pd.DatetimeIndex(events["sunset"]).tz_convert(times.tz), index=times)
    rises = (sunrise >= start) & (sunrise < end)
    sets = (sunset > start) & (sunset <= end)
    lo = start.where(~rises, sunrise)
    hi = end.where(~sets, sunset)
    return pd.DatetimeIndex(lo + (hi - lo) / 2)


def solar_position(
    array: SolarArray,
    times: pd.DatetimeIndex,
    interval: pd.Timedelta,
    *,
    temperature=REFRACTION_TEMPERATURE,
    sunlit_midpoint: bool = False,
) -> pd.DataFrame:
    """Solar position of ``array``'s site for each interval, evaluated at the interval midpoint.

    Parameters
    ----------
    array : SolarArray
        Only its site (latitude, longitude, altitude) is used.
    times : DatetimeIndex
        Interval starts, tz-aware.
    interval : Timedelta
    temperature : float or array-like, default 12
        Air temperature for refraction [°C].
    sunlit_midpoint : bool, default False
        Use the midpoint of the sunlit part of sunrise/sunset intervals (PVWatts).

    Returns
    -------
    DataFrame
        Indexed by ``times``; columns ``apparent_zenith``, ``apparent_elevation``, ``zenith``, ``azimuth``
        [degrees] and
        ``eval_time`` (the instant used).
    """
    times = _require_aware(times)
    interval = _require_interval(interval)
    if sunlit_midpoint:
        when = _sunlit_midpoints(times, interval, array.latitude, array.longitude, array.timezone)
    else:
        when = times + interval / 2
    altitude = _site_altitude(array)
    pos = pvlib.solarposition.get_solarposition(
        when, array.latitude, array.longitude, altitude=altitude,
        pressure=pvlib.atmosphere.alt2pres(altitude), temperature=temperature,
    )
    out = pd.DataFrame(
        {"apparent_zenith": pos["apparent_zenith"].to_numpy(), "apparent_elevation":
         pos["apparent_elevation"].to_numpy(), "zenith": pos["zenith"].to_numpy(),
         "azimuth": pos["azimuth"].to_numpy()},
        index=times,
    )
    out["eval_time"] = when
    return out


# --------------------------------------------------------------------------------------------------------------
# typical year


@functools.lru_cache(maxsize=4)
def _typical_year_factors(path: str, low_q: float, high_q: float) -> pd.DataFrame:
    tmy, meta = pvlib.iotools.read_tmy3(path, coerce_year=1990, map_variables=True)
    # TMY3 rows are hour-ENDING: the row stamped 01:00 describes 00:00-01:00. Midpoint = stamp - 30 min.
    mid = tmy.index - pd.Timedelta("30min")
    start = tmy.index - pd.Timedelta("1h")
    site = pvlib.location.Location(meta["latitude"], meta["longitude"], tz="UTC",
                                   altitude=meta["altitude"])
    # TMY3 pressure is in mbar (hPa); pvlib's solar position wants Pa. (read_tmy3 does not convert it.)
    pos = site.get_solarposition(mid, pressure=tmy["pressure"].to_numpy() * 100.0,
                                 temperature=tmy["temp_air"].to_numpy())
    clear = site.get_clearsky(mid, model="ineichen", solar_position=pos)
    frame = pd.DataFrame({"ghi": tmy["ghi"].to_numpy(), "clear": clear["ghi"].to_numpy()}, index=start)
    frame["month"] = frame.index.month
    frame["day"] = frame.index.normalize()
    daily = frame.groupby("day").agg(ghi=("ghi", "sum"), clear=("clear", "sum"), month=("month", "first"))
    daily = daily[daily["clear"] > 0]
    daily["k"] = daily["ghi"] / daily["clear"]
    monthly = frame.groupby("month")[["ghi", "clear"]].sum()
    out = pd.DataFrame(index=pd.RangeIndex(1, 13, name="month"))
    out["typical"] = monthly["ghi"] / monthly["clear"]
    out["low"] = daily.groupby("month")["k"].quantile(low_q)
    out["high"] = daily.groupby("month")["k"].quantile(high_q)
    out["low"] = np.minimum(out["low"], out["typical"])
    out["high"] = np.maximum(out["high"], out["typical"])
    out["clear"] = 1.0
    return out


def typical_year_factors(tmy_path: str | None = None, low_quantile: float = 0.1,
                         high_quantile: float = 0.9) -> pd.DataFrame:
    """Monthly ratios of typical-year GHI to clear-sky GHI, with a low/high band.

    Read from a TMY3 file (default: ``pvlib/data/703165TY.csv``, Sand Point, Alaska, the typical-year file that
    ships inside pvlib) with :py:func:`pvlib.iotools.read_tmy3`. Its rows are hour-ending, so each hour's
    clear sky (Ineichen, climatological Linke turbidity) is computed at the stamp minus 30 minutes; its
    pressure is in mbar and is converted to Pa for the solar position (refraction). Albedo is not used here.

    ``typical`` = Σ GHI / Σ clear-sky GHI over the month; ``low`` and ``high`` are the ``low_quantile`` and
    ``high_quantile`` of the month's *daily* ratios (widened if needed to contain ``typical``); ``clear`` = 1.

    This is a climatological shape, not a site's climate: with the default file every site gets Sand Point's
    cloudiness. Pass a TMY3 file nearer the co-op (``tmy_path``) for better figures.

    Returns
    -------
    DataFrame
        Index ``month`` 1..12; columns ``typical``, ``low``, ``high``, ``clear`` [unitless].
    """
    return _typical_year_factors(os.fspath(tmy_path or TMY_PATH), float(low_quantile), float(high_quantile)).copy()


def _month_factor(times_local: pd.DatetimeIndex, latitude: float, band: str, factors: pd.DataFrame) -> np.ndarray:
    months = times_local.month.to_numpy()
    if latitude < 0:
        # the typical-year file is from the northern hemisphere: align seasons (June there ~ December here)
        months = (months + 5) % 12 + 1
    return factors[band].reindex(months).to_numpy(dtype=float)


# --------------------------------------------------------------------------------------------------------------
# the model chain


def _site_weather(site: SolarArray, times, interval, weather, band, tmy_path, sunlit_midpoint):
    """Solar position and completed weather (ghi, dni, dhi, temp_air, wind_speed) for one site."""
    temp_refraction = REFRACTION_TEMPERATURE
    if weather is not None:
        if not isinstance(weather, pd.DataFrame):
            raise TypeError("weather must be a DataFrame (see energy_coop.calc.forecasting.weather.read_weather_csv)")
        weather, _ = wx.check_weather_frame(weather)
        weather = weather.tz_convert("UTC")
        wanted = times.tz_convert("UTC")
        missing = wanted.difference(weather.index)
        if len(missing):
            raise ValueError(
                f"the weather has no row for {len(missing)} of the requested interval(s), first "
                f"{missing[0].isoformat()}; forecast only the weather's times"
            )
        weather = weather.reindex(wanted)
        weather.index = times
        if "temp_air" in weather:
            temp_refraction = weather["temp_air"].to_numpy()
    pos = solar_position(site, times, interval, temperature=temp_refraction, sunlit_midpoint=sunlit_midpoint)
    altitude = _site_altitude(site)
    irr_cols = [c for c in wx.IRRADIANCE_COLUMNS if weather is not None and c in weather]
    if weather is not None and len(irr_cols) >= 2:
        irr = wx.complete_irradiance(weather, pos["apparent_zenith"])
    else:
        location = pvlib.location.Location(site.latitude, site.longitude, tz="UTC", altitude=altitude)
        sp = pos.drop(columns="eval_time").set_axis(pd.DatetimeIndex(pos["eval_time"]))
        clear = location.get_clearsky(sp.index, model="ineichen", solar_position=sp)
        clear.index = times
        if weather is not None:  # cloud cover only
            irr = wx.cloud_cover_to_irradiance(
                weather["cloud_cover"], clear["ghi"].to_numpy(), pos["zenith"].to_numpy(),
                pressure=pvlib.atmosphere.alt2pres(altitude),
            )
        elif band == "clear":
            irr = clear[["ghi", "dni", "dhi"]]
        else:
            factors = typical_year_factors(tmy_path)
            k = _month_factor(times.tz_convert(site.timezone), site.latitude, band, factors)
            irr = wx.decompose_ghi(clear["ghi"] * k, pos["zenith"].to_numpy(),
                                   pressure=pvlib.atmosphere.alt2pres(altitude))
        irr = pd.DataFrame(irr, copy=True)
    temp_air = DEFAULT_TEMP_AIR
    wind = DEFAULT_WIND_SPEED
    if weather is not None and "temp_air" in weather:
        temp_air = weather["temp_air"].to_numpy()
    if weather is not None and "wind_speed" in weather:
        wind = weather["wind_speed"].to_numpy()
    irr["temp_air"] = temp_air
    irr["wind_speed"] = wind
    return pos, irr


def _zero_nan(values) -> np.ndarray:
    out = np.asarray(values, dtype=float)
    return np.where(np.isnan(out), 0.0, out)


def _column(values) -> np.ndarray:
    return np.asarray(values, dtype=float)[:, None]


def _chunk_power(arrays: Sequence[SolarArray], pos, irr, transposition, temperature_model, dni_extra, airmass):
    """AC power [W], shape (T, len(arrays))."""
    zen = _column(pos["apparent_zenith"])
    azi = _column(pos["azimuth"])
    tilt = np.array([[a.tilt_deg for a in arrays]], dtype=float)
    surf_az = np.array([[a.azimuth_deg for a in arrays]], dtype=float)
    trackers = [i for i, a in enumerate(arrays) if a.array_type == "single_axis"]
    if trackers:
        tilt = np.repeat(tilt, len(pos), axis=0)
        surf_az = np.repeat(surf_az, len(pos), axis=0)
        for i in trackers:
            a = arrays[i]
            track = pvlib.tracking.singleaxis(
                pos["apparent_zenith"], pos["azimuth"], axis_tilt=a.tilt_deg, axis_azimuth=a.azimuth_deg,
                max_angle=TRACKER_MAX_ANGLE, backtrack=True, gcr=TRACKER_GCR,
            )
            tilt[:, i] = track["surface_tilt"].fillna(a.tilt_deg).to_numpy()
            surf_az[:, i] = track["surface_azimuth"].fillna(a.azimuth_deg).to_numpy()
    albedo = np.array([[a.albedo for a in arrays]], dtype=float)
    # get_total_irradiance's own three steps, so that the angle of incidence is computed once for both the
    # beam projection and the IAM
    sky = pvlib.irradiance.get_sky_diffuse(
        tilt, surf_az, zen, azi, _column(irr["dni"]), _column(irr["ghi"]), _column(irr["dhi"]),
        dni_extra=dni_extra, airmass=airmass, model=transposition,
    )
    ground = pvlib.irradiance.get_ground_diffuse(tilt, _column(irr["ghi"]), albedo=albedo)
    aoi = pvlib.irradiance.aoi(tilt, surf_az, zen, azi)
    poa = pvlib.irradiance.poa_components(aoi, _column(irr["dni"]), sky, ground)
    poa_global = _zero_nan(poa["poa_global"])
    poa_direct = _zero_nan(poa["poa_direct"])
    poa_diffuse = _zero_nan(poa["poa_diffuse"])
    iam = _zero_nan(pvlib.iam.physical(aoi))
    effective = poa_direct * iam + poa_diffuse

    temp_air = _column(np.broadcast_to(np.asarray(irr["temp_air"], dtype=float), (len(pos),)))
    wind = _column(np.broadcast_to(np.asarray(irr["wind_speed"], dtype=float), (len(pos),)))
    if temperature_model == "sapm":
        table = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]
        params = [table[SAPM_PARAMETER_SET[a.array_type]] for a in arrays]
        a_ = np.array([[p["a"] for p in params]])
        b_ = np.array([[p["b"] for p in params]])
        dt = np.array([[p["deltaT"] for p in params]])
        temp_cell = pvlib.temperature.sapm_cell(poa_global, temp_air, wind, a_, b_, dt)
    elif temperature_model == "fuentes":
        temp_cell = np.empty_like(poa_global)
        index = pos.index
        for i, a in enumerate(arrays):
            temp_cell[:, i] = pvlib.temperature.fuentes(
                pd.Series(poa_global[:, i], index=index), pd.Series(temp_air[:, 0], index=index),
                pd.Series(wind[:, 0], index=index), FUENTES_NOCT[a.array_type], surface_tilt=a.tilt_deg,
            ).to_numpy()
    else:
        raise ValueError(f"temperature_model must be 'sapm' or 'fuentes', not {temperature_model!r}")

    pdc0 = np.array([[a.capacity_kw_dc * 1000.0 for a in arrays]])
    gamma = np.array([[a.gamma_pdc for a in arrays]])
    dc = pvlib.pvsystem.pvwatts_dc(effective, temp_cell, pdc0, gamma)
    dc = dc * (1.0 - np.array([[a.losses_pct for a in arrays]]) / 100.0)
    eta = np.array([[a.eta_inv_nom for a in arrays]])
    inverter_pdc0 = np.array([[a.capacity_kw_ac * 1000.0 for a in arrays]]) / eta
    ac = pvlib.inverter.pvwatts(dc, inverter_pdc0, eta)
    return _zero_nan(ac)


def _labels(arrays: Sequence[SolarArray]) -> list:
    labels = [a.code if a.code else i for i, a in enumerate(arrays)]
    if len(set(labels)) != len(labels):
        raise ValueError("arrays must have distinct codes (or none) to name the result columns")
    return labels


def expected_ac_power(
    arrays: Sequence[SolarArray],
    times: pd.DatetimeIndex,
    weather: pd.DataFrame | None = None,
    interval: pd.Timedelta = HOURLY,
    *,
    band: str = "typical",
    transposition: str = "perez",
    temperature_model: str = "sapm",
    sunlit_midpoint: bool = False,
    tmy_path: str | None = None,
    chunk_columns: int = CHUNK_COLUMNS,
) -> pd.DataFrame:
    """Average AC power of each array over each interval [W] (the model chain of this module's docstring).

    Parameters
    ----------
    arrays : sequence of SolarArray
        All at one site (same latitude, longitude, altitude and timezone); computed together.
    times : DatetimeIndex
        Interval starts, tz-aware (naive is refused).
    weather : DataFrame, optional
        As from :func:`energy_coop.calc.forecasting.weather.read_weather_csv`: two or three of ``ghi``, ``dni``, ``dhi``
        [W/m²] or ``cloud_cover`` [%]; optional ``temp_air`` [°C] (default 20), ``wind_speed`` [m/s]
        (default 0). Must have a row for every one of ``times``. None: clear sky scaled by the typical year.
    interval : Timedelta, default 1 hour
        Length of each interval; solar position is taken at ``times + interval/2``.
    band : {'typical', 'low', 'high', 'clear'}
        Without weather: which typical-year factor scales clear-sky GHI (``clear`` = none).
    transposition : str, default 'perez'
        ``model`` of :py:func:`pvlib.irradiance.get_sky_diffuse` (``'haydavies'``, ``'isotropic'``...).
    temperature_model : {'sapm', 'fuentes'}
    sunlit_midpoint : bool, default False
        Evaluate the sun at the midpoint of the sunlit part of sunrise/sunset intervals (as PVWatts does).
    tmy_path : str, optional
        TMY3 file for :func:`typical_year_factors`.
    chunk_columns : int
        Arrays processed per numpy block (memory bound).

    Returns
    -------
    DataFrame
        Indexed by ``times``; one column per array, named by its ``code`` (or position), AC power [W] ≥ 0.
    """
    arrays = list(arrays)
    if not arrays:
        raise ValueError("give at least one solar array")
    if any(not isinstance(a, SolarArray) for a in arrays):
        raise ValueError("arrays must be SolarArray instances")
    sites = {a.site for a in arrays}
    if len(sites) != 1:
        raise ValueError("arrays must share one site (latitude, longitude, altitude_m, timezone); group them first")
    times = _require_aware(times)
    if not times.is_monotonic_increasing or times.has_duplicates:
        raise ValueError("times must be strictly increasing without duplicates")
    interval = _require_interval(interval)
    if band not in BANDS:
        raise ValueError(f"band must be one of {', '.join(BANDS)}, not {band!r}")
    labels = _labels(arrays)
    if len(times) == 0:
        return pd.DataFrame(index=times, columns=labels, dtype=float)
    site = arrays[0]
    pos, irr = _site_weather(site, times, interval, weather, band, tmy_path, sunlit_midpoint)
    eval_times = pd.DatetimeIndex(pos["eval_time"])
    # Spencer's extraterrestrial DNI by UTC day of year, as pvlib derives it from a DatetimeIndex
    dni_extra = _column(pvlib.irradiance.get_extra_radiation(eval_times.tz_convert("UTC").day_of_year.to_numpy()))
    airmass = _column(pvlib.atmosphere.get_relative_airmass(pos["apparent_zenith"].to_numpy()))
    # Rows without any irradiance give exactly 0 W through every step (POA 0, DC 0, inverter 0): skip them.
    # Fuentes integrates over time, so it keeps every row.
    lit = (irr[["ghi", "dni", "dhi"]].to_numpy() > 0).any(axis=1)
    if temperature_model == "fuentes":
        lit[:] = True
    out = np.zeros((len(times), len(arrays)))
    if lit.any():
        step = max(1, int(chunk_columns))
        for lo in range(0, len(arrays), step):
            out[lit, lo:lo + step] = _chunk_power(arrays[lo:lo + step], pos[lit], irr[lit], transposition,
                                                  temperature_model, dni_extra[lit], airmass[lit])
    return pd.DataFrame(out, index=times, columns=labels)


def to_interval_kwh(power_w, interval: pd.Timedelta):
    """Energy per interval [kWh] from average power over the interval [W]: ``W × hours / 1000``.

    Works on a number, numpy array, Series or DataFrame (same type out). Floats: converting to integer Wh
    is the storing service's job.
    """
    interval = _require_interval(interval)
    return power_w * (interval / pd.Timedelta("1h")) / 1000.0


# --------------------------------------------------------------------------------------------------------------
# one asset's forecast


def forecast_asset(
    array: SolarArray,
    start: pd.Timestamp | None = None,
    days: int | None = None,
    weather: pd.DataFrame | None = None,
    *,
    interval: pd.Timedelta = HOURLY,
    temperature_model: str = "sapm",
    tmy_path: str | None = None,
) -> pd.DataFrame:
    """Expected AC energy of one solar asset per interval [kWh].

    Without weather: ``days`` local days (in the asset's timezone) from ``start``, hourly by default; a day
    with a DST change has 23 or 25 hours. Clear sky scaled by the typical-year factor gives ``kwh``, and the
    low/high factors give ``kwh_low`` / ``kwh_high`` (see :func:`typical_year_factors`); per row, ``kwh_low``
    and ``kwh_high`` are the smallest and largest of the three (so ``kwh_low <= kwh <= kwh_high`` always).

    With weather: the forecast covers the weather's times (its step is the interval); if ``start`` and
    ``days`` are given too, only the weather rows in that window.

    Parameters
    ----------
    array : SolarArray
    start : Timestamp, tz-aware
        First interval start (required without weather). Naive is refused.
    days : int
        Number of local days (required without weather).
    weather : DataFrame, optional
        As for :func:`expected_ac_power`, indexed by tz-aware interval starts, evenly spaced.
    interval : Timedelta, default 1 hour
        Step without weather (ignored with weather).

    Returns
    -------
    DataFrame
        Columns ``start`` (tz-aware, the asset's timezone), ``kwh`` [kWh], and without weather ``kwh_low``,
        ``kwh_high`` [kWh]; one row per interval.
    """
    if start is not None:
        start = pd.Timestamp(start)
        if start.tz is None:
            raise ValueError("start is a naive timestamp: give it with its time zone (localise first)")
        start = start.tz_convert(array.timezone)
    if days is not None and (isinstance(days, bool) or int(days) != days or days < 1):
        raise ValueError(f"days must be a whole number of at least 1, not {days!r}")
    if weather is None:
        if start is None or days is None:
            raise ValueError("without weather, give start and days")
        interval = _require_interval(interval)
        end = start + pd.DateOffset(days=int(days))
        times = pd.date_range(start, end, freq=interval, inclusive="left")
        result = pd.DataFrame({"start": times})
        for column, band in (("kwh", "typical"), ("kwh_low", "low"), ("kwh_high", "high")):
            power = expected_ac_power([array], times, None, interval, band=band,
                                      temperature_model=temperature_model, tmy_path=tmy_path)
            result[column] = to_interval_kwh(power.iloc[:, 0].to_numpy(), interval)
        # More GHI is not always more energy in an interval (DISC puts it into beam the array may not see, e.g.
        # a south-facing array with the sun in the north-west on a summer evening), so order the band per row.
        bands = result[["kwh_low", "kwh", "kwh_high"]].to_numpy()
        result["kwh_low"] = bands.min(axis=1)
        result["kwh_high"] = bands.max(axis=1)
        return result
    if not isinstance(weather, pd.DataFrame) or not isinstance(weather.index, pd.DatetimeIndex):
        raise TypeError("weather must be a DataFrame indexed by interval starts")
    if weather.index.tz is None:
        raise ValueError("weather times are naive: localise them first")
    interval = wx.weather_interval(weather.index)
    times = weather.index.tz_convert(array.timezone)
    if start is not None or days is not None:
        if start is None or days is None:
            raise ValueError("give both start and days, or neither, with weather")
        end = start + pd.DateOffset(days=int(days))
        keep = (times >= start) & (times < end)
        if not keep.any():
            raise ValueError(f"the weather has no rows from {start.isoformat()} for {days} day(s)")
        times = times[keep]
        weather = weather[keep]
    weather = weather.set_axis(times)
    power = expected_ac_power([array], times, weather, interval, temperature_model=temperature_model)
    return pd.DataFrame({"start": times, "kwh": to_interval_kwh(power.iloc[:, 0].to_numpy(), interval)})


# --------------------------------------------------------------------------------------------------------------
# performance


def performance_ratio(metered_kwh, expected_kwh) -> float | None:
    """Metered over expected energy [unitless], or None when there is no meaningful expectation.

    Numbers or Series (summed). None when expected is missing, NaN or ≤ 0, or metered is missing or NaN.
    """
    def total(x):
        if x is None:
            return None
        if isinstance(x, (pd.Series, pd.DataFrame, np.ndarray, list, tuple)):
            arr = np.asarray(x, dtype=float)
            if arr.size == 0 or np.isnan(arr).any():
                return None
            return float(arr.sum())
        v = float(x)
        return None if math.isnan(v) else v

    metered = total(metered_kwh)
    expected = total(expected_kwh)
    if metered is None or expected is None or expected <= 0:
        return None
    return metered / expected


def below_threshold(ratio: float | None, threshold: float = DEFAULT_PR_THRESHOLD) -> bool:
    """True when a performance ratio exists and is below ``threshold`` (a missing ratio is not flagged)."""
    return ratio is not None and not math.isnan(ratio) and ratio < threshold


def monthly_performance(
    metered_kwh: pd.Series,
    expected_kwh: pd.Series,
    timezone: str,
    threshold: float = DEFAULT_PR_THRESHOLD,
) -> pd.DataFrame:
    """Performance ratio per local calendar month, over the intervals present in both series.

    Parameters
    ----------
    metered_kwh, expected_kwh : Series
        Energy per interval [kWh], indexed by tz-aware interval starts.
    timezone : str
        The asset's IANA timezone (months are local).
    threshold : float, default 0.8

    Returns
    -------
    DataFrame
        Columns ``month`` ('YYYY-MM'), ``intervals``, ``metered_kwh``, ``expected_kwh`` [kWh],
        ``performance_ratio`` (None when not computable), ``flagged`` (bool).
    """
    for name, s in (("metered_kwh", metered_kwh), ("expected_kwh", expected_kwh)):
        _require_aware(s.index, f"{name} times")
    common = metered_kwh.index.intersection(expected_kwh.index)
    local = common.tz_convert(timezone)
    frame = pd.DataFrame({"metered_kwh": metered_kwh.reindex(common).to_numpy(dtype=float),
                          "expected_kwh": expected_kwh.reindex(common).to_numpy(dtype=float),
                          "month": local.strftime("%Y-%m")})
    rows = []
    for month, g in frame.groupby("month", sort=True):
        ratio = performance_ratio(g["metered_kwh"], g["expected_kwh"])
        rows.append({"month": month, "intervals": len(g), "metered_kwh": float(g["metered_kwh"].sum()),
                     "expected_kwh": float(g["expected_kwh"].sum()), "performance_ratio": ratio,
                     "flagged": below_threshold(ratio, threshold)})
    return pd.DataFrame(rows, columns=["month", "intervals", "metered_kwh", "expected_kwh", "performance_ratio",
                                       "flagged"])


__all__: Iterable[str] = [
    "SolarArray",
    "below_threshold",
    "expected_ac_power",
    "forecast_asset",
    "interval_midpoints",
    "monthly_performance",
    "performance_ratio",
    "solar_position",
    "to_interval_kwh",
    "typical_year_factors",
    "validate_array",
]
