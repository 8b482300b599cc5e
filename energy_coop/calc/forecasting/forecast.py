"""Expected production of solar assets (SPEC section 7): a PVWatts-style model chain built from pvlib, explicitly.

This module is the chain itself; its parts are the array (:mod:`.arrays`), time and the sun (:mod:`.sun`),
weather as values (:mod:`.weather`), the typical year (:mod:`.typical`) and performance (:mod:`.performance`),
whose public names are re-exported here. Pure: weather files and typical years are read by
:mod:`energy_coop.importers.weather`. (Some 430 lines, a tenth of them the step list below: the chain, the
one-asset forecast and their argument checks read best together.)

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
   **typical-year factor** and decomposed with DISC
   (:func:`energy_coop.calc.forecasting.typical.typical_year_factors`, given by the caller).
3. **Transposition**: the steps of :py:func:`pvlib.irradiance.get_total_irradiance` (``get_sky_diffuse``,
   ``get_ground_diffuse``, ``poa_components``, called one by one so the angle of incidence is computed once)
   with the Perez 1990 model ("allsitescomposite1990"), as PVWatts uses; extraterrestrial DNI by Spencer, relative airmass by
   Kasten-Young 1989; ground albedo 0.2 (PVWatts' default without snow).
4. **Incidence angle modifier**: :py:func:`pvlib.iam.physical` (Fresnel/Snell, air–glass, n = 1.526,
   K = 4 /m, L = 2 mm: PVWatts v5's cover model), applied to the beam part of the plane-of-array irradiance.
5. **Cell temperature**: PVWatts v5's own, the Fuentes (1987) heat balance
   (:func:`energy_coop.calc.forecasting.thermal.fuentes_cell_temperature`) with the installed nominal operating
   cell temperature of the array type, **45 °C open rack, 49 °C roof mount, 45 °C single-axis trackers** (treated
   as open rack), heated by the total plane-of-array irradiance, with PVWatts' fixed values (absorptance 0.83,
   emissivity 0.84, module height 5 m, wind measured at 9.144 m, hydraulic diameter 0.5 m, free convection at
   Fuentes' 30°) and its dark convention (no plane-of-array irradiance: the cell is at air temperature). Solved
   for all intervals and arrays at once, so it keeps the chain vectorised; it agrees with pvlib's per-interval
   loop (:py:func:`pvlib.temperature.fuentes`) to about 1e-6 of the annual energy. Agreement with PVWatts v5
   over a typical year (``tests/unit/forecast/test_pvwatts_reproduction.py``): NREL's open-rack output within
   0.02 % (0.21 % in any month), and PVWatts v5's model for roof mount and single axis within 0.001 %.
   ``temperature_model='sapm'`` keeps the closed-form SAPM (:py:func:`pvlib.temperature.sapm_cell`,
   ``open_rack_glass_polymer`` for open rack and trackers, ``close_mount_glass_glass`` for roof mount), which
   runs roof-mount arrays about 20 K hotter than PVWatts at noon (5 % less energy over a year).
6. **DC**: :py:func:`pvlib.pvsystem.pvwatts_dc` with the asset's DC capacity and ``gamma_pdc`` (−0.0047 /°C,
   PVWatts "standard" modules; −0.0035 /°C for "premium").
7. **System losses**: DC × (1 − ``losses_pct``/100). ``losses_pct`` is the combined figure of
   :py:func:`pvlib.pvsystem.pvwatts_losses` (whose defaults combine to 14.08 %); the register's default is 14.
8. **AC**: :py:func:`pvlib.inverter.pvwatts` with ``pdc0 = capacity_kw_ac / eta_inv_nom`` and
   ``eta_inv_nom = 0.96``, so the inverter clips at the asset's AC capacity.
9. **Single-axis trackers**: :py:func:`pvlib.tracking.singleaxis`, axis tilt = ``tilt_deg``, axis azimuth =
   ``azimuth_deg``, rotation limit 45°, ground coverage ratio 0.4, backtracking (PVWatts v5's "1-axis
   backtracked" array type; its "self-shaded" type is not modelled).

PVWatts v5's other choices, for comparison: no spectral correction (none here either), the glass cover of step 4
on the beam only, the pvwatts DC model (step 6) without a low-light correction, and the inverter curve of step 8
with the reference efficiency 0.9637.

Arrays that share a site are computed together: the time-dependent quantities have shape ``(T, 1)`` and the
orientations ``(1, N)``, so numpy broadcasts them to ``(T, N)``; columns are processed in chunks to bound memory.

Times are tz-aware everywhere: a naive timestamp raises ``ValueError``. Interval *starts* index every result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import pvlib

from energy_coop.calc.forecasting import weather as wx
from energy_coop.calc.forecasting.arrays import (  # noqa: F401 - re-exported: the asset's parameters and limits
    ALBEDO,
    ARRAY_TYPES,
    DC_AC_RATIO_RANGE,
    DEFAULT_LOSSES_PCT,
    ETA_INV_NOM,
    GAMMA_PDC_PREMIUM,
    GAMMA_PDC_STANDARD,
    SAPM_PARAMETER_SET,
    TRACKER_GCR,
    TRACKER_MAX_ANGLE,
    SolarArray,
    site_altitude,
    validate_array,
)
from energy_coop.calc.forecasting.performance import (  # noqa: F401 - re-exported
    DEFAULT_PR_THRESHOLD,
    below_threshold,
    monthly_performance,
    performance_ratio,
)
from energy_coop.calc.forecasting.sun import (  # noqa: F401 - re-exported
    REFRACTION_TEMPERATURE,
    interval_midpoints,
    require_aware,
    require_interval,
    solar_position,
)
from energy_coop.calc.forecasting.thermal import INOCT, START_K, fuentes_cell_temperature
from energy_coop.calc.forecasting.typical import month_factor, typical_year_factors  # noqa: F401 - re-exported

#: Used when the weather has no air temperature or wind speed (pvlib ``ModelChain``'s defaults).
DEFAULT_TEMP_AIR = 20.0  # [°C]
DEFAULT_WIND_SPEED = 0.0  # [m/s]
BANDS = ("typical", "low", "high", "clear")
CHUNK_COLUMNS = 200
HOURLY = pd.Timedelta("1h")


# --------------------------------------------------------------------------------------------------------------
# the model chain


def _site_weather(site: SolarArray, times, interval, weather, band, factors, sunlit_midpoint):
    """Solar position and completed weather (ghi, dni, dhi, temp_air, wind_speed) for one site."""
    temp_refraction = REFRACTION_TEMPERATURE
    if weather is not None:
        if not isinstance(weather, pd.DataFrame):
            raise TypeError("weather must be a DataFrame (see energy_coop.importers.weather.read_weather_csv)")
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
    altitude = site_altitude(site)
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
            if factors is None:
                raise ValueError(
                    f"without weather, the {band!r} band needs the typical-year factors: pass "
                    "factors=typical_year_factors(...) of a typical year (energy_coop.importers.weather)"
                )
            k = month_factor(times.tz_convert(site.timezone), site.latitude, band, factors)
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


def _chunk_power(arrays: Sequence[SolarArray], pos, irr, transposition, temperature_model, dni_extra, airmass,
                 step_hours, follows, temp_air_before):
    """AC power [W], shape (T, len(arrays)); ``follows`` / ``temp_air_before`` place the rows in time for Fuentes."""
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
    if temperature_model == "fuentes":
        inoct = np.array([INOCT[a.array_type] for a in arrays])
        temp_cell = fuentes_cell_temperature(poa_global, temp_air, wind, inoct, step_hours, follows=follows,
                                             temp_air_before=temp_air_before)
    elif temperature_model == "sapm":
        table = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]
        params = [table[SAPM_PARAMETER_SET[a.array_type]] for a in arrays]
        a_ = np.array([[p["a"] for p in params]])
        b_ = np.array([[p["b"] for p in params]])
        dt = np.array([[p["deltaT"] for p in params]])
        temp_cell = pvlib.temperature.sapm_cell(poa_global, temp_air, wind, a_, b_, dt)
    else:
        raise ValueError(f"temperature_model must be 'fuentes' or 'sapm', not {temperature_model!r}")

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
    temperature_model: str = "fuentes",
    sunlit_midpoint: bool = False,
    factors: pd.DataFrame | None = None,
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
        As from :func:`energy_coop.importers.weather.read_weather_csv`: two or three of ``ghi``, ``dni``, ``dhi``
        [W/m²] or ``cloud_cover`` [%]; optional ``temp_air`` [°C] (default 20), ``wind_speed`` [m/s]
        (default 0). Must have a row for every one of ``times``. None: clear sky scaled by the typical year.
    interval : Timedelta, default 1 hour
        Length of each interval; solar position is taken at ``times + interval/2``.
    band : {'typical', 'low', 'high', 'clear'}
        Without weather: which typical-year factor scales clear-sky GHI (``clear`` = none).
    transposition : str, default 'perez'
        ``model`` of :py:func:`pvlib.irradiance.get_sky_diffuse` (``'haydavies'``, ``'isotropic'``...).
    temperature_model : {'fuentes', 'sapm'}
        ``'fuentes'`` (default): PVWatts v5's heat balance with the array type's INOCT (step 5 above);
        ``'sapm'``: the closed-form SAPM by array type.
    sunlit_midpoint : bool, default False
        Evaluate the sun at the midpoint of the sunlit part of sunrise/sunset intervals (as PVWatts does).
    factors : DataFrame, optional
        Monthly typical-year factors (:func:`~energy_coop.calc.forecasting.typical.typical_year_factors`);
        required without weather unless ``band='clear'``.
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
    times = require_aware(times)
    if not times.is_monotonic_increasing or times.has_duplicates:
        raise ValueError("times must be strictly increasing without duplicates")
    interval = require_interval(interval)
    if band not in BANDS:
        raise ValueError(f"band must be one of {', '.join(BANDS)}, not {band!r}")
    labels = _labels(arrays)
    if len(times) == 0:
        return pd.DataFrame(index=times, columns=labels, dtype=float)
    site = arrays[0]
    pos, irr = _site_weather(site, times, interval, weather, band, factors, sunlit_midpoint)
    eval_times = pd.DatetimeIndex(pos["eval_time"])
    # Spencer's extraterrestrial DNI by UTC day of year, as pvlib derives it from a DatetimeIndex
    dni_extra = _column(pvlib.irradiance.get_extra_radiation(eval_times.tz_convert("UTC").day_of_year.to_numpy()))
    airmass = _column(pvlib.atmosphere.get_relative_airmass(pos["apparent_zenith"].to_numpy()))
    # Rows without any irradiance give exactly 0 W through every step (POA 0, DC 0, inverter 0): skip them.
    # Fuentes carries temperature from one interval to the next, but PVWatts puts a dark cell at air
    # temperature, so a sunlit row after skipped ones needs only whether its predecessor was kept and that
    # predecessor's air temperature.
    lit = (irr[["ghi", "dni", "dhi"]].to_numpy() > 0).any(axis=1)
    follows = np.zeros(len(times), dtype=bool)
    follows[1:] = lit[:-1]
    temp_air = np.broadcast_to(np.asarray(irr["temp_air"], dtype=float), (len(times),))
    temp_air_before = np.concatenate([[START_K - 273.15], temp_air[:-1]])
    step_hours = interval / pd.Timedelta("1h")
    out = np.zeros((len(times), len(arrays)))
    if lit.any():
        step = max(1, int(chunk_columns))
        for lo in range(0, len(arrays), step):
            out[lit, lo:lo + step] = _chunk_power(arrays[lo:lo + step], pos[lit], irr[lit], transposition,
                                                  temperature_model, dni_extra[lit], airmass[lit], step_hours,
                                                  follows[lit], temp_air_before[lit])
    return pd.DataFrame(out, index=times, columns=labels)


def to_interval_kwh(power_w, interval: pd.Timedelta):
    """Energy per interval [kWh] from average power over the interval [W]: ``W × hours / 1000``.

    Works on a number, numpy array, Series or DataFrame (same type out). Floats: converting to integer Wh
    is the storing service's job.
    """
    interval = require_interval(interval)
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
    temperature_model: str = "fuentes",
    factors: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Expected AC energy of one solar asset per interval [kWh].

    Without weather: ``days`` local days (in the asset's timezone) from ``start``, hourly by default; a day
    with a DST change has 23 or 25 hours. Clear sky scaled by the typical-year factor gives ``kwh``, and the
    low/high factors give ``kwh_low`` / ``kwh_high`` (``factors``, see :func:`typical_year_factors`); per row, ``kwh_low``
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
    factors : DataFrame
        Monthly typical-year factors (:func:`typical_year_factors`), required without weather.

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
        interval = require_interval(interval)
        end = start + pd.DateOffset(days=int(days))
        times = pd.date_range(start, end, freq=interval, inclusive="left")
        result = pd.DataFrame({"start": times})
        for column, band in (("kwh", "typical"), ("kwh_low", "low"), ("kwh_high", "high")):
            power = expected_ac_power([array], times, None, interval, band=band,
                                      temperature_model=temperature_model, factors=factors)
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
