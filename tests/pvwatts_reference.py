"""PVWatts v5 for the tests: NREL's hourly file in ../shared/data/pvwatts, and PVWatts v5's model written out.

Independent of energy_coop (nothing of ours is imported): :func:`pvwatts_v5` follows the PVWatts v5 manual (Dobos
2014, NREL/TP-6A20-62641) step by step with pvlib's building blocks, so that our forecast can be compared with
PVWatts for the mounts NREL's file does not cover (roof mount, single-axis tracking). On the file's weather it
reproduces NREL's own open-rack year within 0.02 %.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib

REPO_ROOT = Path(__file__).resolve().parents[1]
PVWATTS_FILE = REPO_ROOT.parent / "shared" / "data" / "pvwatts" / "pvwatts_8760_rackmount.csv"
HEADER_ROWS = 17


def read_pvwatts_file(path: Path = PVWATTS_FILE) -> tuple[dict, pd.DataFrame, np.ndarray]:
    """The file's header (``{label: value}``), its weather (dni, dhi, temp_air, wind_speed; indexed by hour
    starts in UTC-7, local standard time all year) and its hourly AC output [W]."""
    with path.open(newline="", encoding="utf-8") as handle:
        head = [row for _, row in zip(range(HEADER_ROWS), csv.reader(handle))]
    meta = {row[0].strip().rstrip(":"): row[1].strip() for row in head if len(row) > 1 and row[0].strip()}
    table = pd.read_csv(path, skiprows=HEADER_ROWS, nrows=8760)
    table.columns = ["month", "day", "hour", "dni", "dhi", "temp_air", "wind_speed", "poa", "temp_cell",
                     "dc", "ac"]
    # hour-beginning local *standard* time, UTC-7 all year (no DST); any non-leap year
    starts = pd.to_datetime(pd.DataFrame({"year": 2019, "month": table["month"], "day": table["day"],
                                          "hour": table["hour"]}))
    index = pd.DatetimeIndex(starts).tz_localize("Etc/GMT+7")
    weather = table[["dni", "dhi", "temp_air", "wind_speed"]].astype(float).set_axis(index)
    return meta, weather, table["ac"].to_numpy(dtype=float)


PVWATTS_INOCT = {"fixed_open_rack": 45.0, "fixed_roof_mount": 49.0, "single_axis": 45.0}  # manual, section 7


def pvwatts_v5(weather, *, latitude, longitude, elevation, tilt, azimuth, dc_w, dc_ac_ratio, array_type,
               losses_pct, inverter_efficiency=0.96, gamma=-0.0047):
    """Hourly AC output [W] of PVWatts v5 for hour-beginning weather (dni, dhi, temp_air, wind_speed)."""
    middle = weather.index + pd.Timedelta("30min")
    # 1. the sun at the middle of the hour (NREL SPA), refraction at the site's pressure and air temperature
    sun = pvlib.solarposition.get_solarposition(
        middle, latitude, longitude, altitude=elevation, pressure=pvlib.atmosphere.alt2pres(elevation),
        temperature=weather["temp_air"].to_numpy())
    zenith = sun["apparent_zenith"].to_numpy()
    solar_azimuth = sun["azimuth"].to_numpy()
    dni = weather["dni"].to_numpy()
    dhi = weather["dhi"].to_numpy()
    ghi = dhi + dni * np.maximum(np.cos(np.radians(sun["zenith"].to_numpy())), 0.0)
    # 2. orientation: fixed, or a single-axis tracker with backtracking, rotation limit 45°, GCR 0.4
    if array_type == "single_axis":
        track = pvlib.tracking.singleaxis(zenith, solar_azimuth, axis_tilt=tilt, axis_azimuth=azimuth,
                                          max_angle=45.0, backtrack=True, gcr=0.4)
        surface_tilt = np.nan_to_num(np.asarray(track["surface_tilt"], dtype=float), nan=tilt)
        surface_azimuth = np.nan_to_num(np.asarray(track["surface_azimuth"], dtype=float), nan=azimuth)
    else:
        surface_tilt, surface_azimuth = tilt, azimuth
    # 3. plane of array: Perez 1990 sky diffuse, albedo 0.2
    poa = pvlib.irradiance.get_total_irradiance(
        surface_tilt, surface_azimuth, zenith, solar_azimuth, dni, ghi, dhi,
        dni_extra=pvlib.irradiance.get_extra_radiation(middle.day_of_year.to_numpy()),
        airmass=pvlib.atmosphere.get_relative_airmass(zenith), albedo=0.2, model="perez",
        model_perez="allsitescomposite1990")
    total = np.nan_to_num(np.asarray(poa["poa_global"], dtype=float))
    beam = np.nan_to_num(np.asarray(poa["poa_direct"], dtype=float))
    # 4. the cover: Snell/Fresnel glass (n 1.526, K 4/m, L 2 mm) on the beam only
    aoi = pvlib.irradiance.aoi(surface_tilt, surface_azimuth, zenith, solar_azimuth)
    transmitted = total - (1.0 - np.nan_to_num(pvlib.iam.physical(aoi, n=1.526, K=4.0, L=0.002))) * beam
    # 5. cell temperature: Fuentes with the mount's installed NOCT, heated by the total plane-of-array irradiance
    cell = pvlib.temperature.fuentes(pd.Series(total, index=weather.index), weather["temp_air"],
                                     weather["wind_speed"].clip(lower=0.0),
                                     PVWATTS_INOCT[array_type]).to_numpy()
    # 6. DC with the standard module's -0.47 %/°C, the system losses; 7. the inverter (nominal 96 %)
    dc = pvlib.pvsystem.pvwatts_dc(transmitted, cell, dc_w, gamma) * (1.0 - losses_pct / 100.0)
    ac = pvlib.inverter.pvwatts(dc, dc_w / dc_ac_ratio / inverter_efficiency, inverter_efficiency)
    return np.maximum(np.nan_to_num(ac), 0.0)
