"""Our forecasts against PVWatts v5: NREL's own hourly output, and PVWatts v5's model for the other mounts.

**NREL's file** (shared/data/pvwatts: 4 kW DC open rack at Denver, tilt 20°, losses 14.08 %, inverter 96 %,
DC/AC 1.2) is hour-beginning local standard time (UTC-7, no DST) and gives DNI ("Beam"), DHI ("Diffuse"), air
temperature and wind speed; GHI is completed by the closure equation. System parameters come from its header.
Measured on this model chain (pvlib 0.16.1), against the file's AC total of 6,023.671 kWh:

=========================================  ===============  ==================================
solar position / cell temperature          annual AC error  hourly RMSE / mean hourly AC
=========================================  ===============  ==================================
plain midpoint  / Fuentes (the default)    −0.020 %         0.57 %
sunlit midpoint / Fuentes (PVWatts' sun)   +0.006 %         0.34 %
plain midpoint  / SAPM open rack (option)  −0.125 %         2.1 %
=========================================  ===============  ==================================

Month by month the default is within 0.21 % of the file (largest: March −0.203 %; October +0.138 %, November
+0.145 %). The mean hourly AC includes night hours (687.6 W). "Sunlit midpoint" evaluates the sun at the middle of
the sunlit part of sunrise and sunset hours, which is what PVWatts does.

**The other mounts.** NREL published hourly output for open rack only, so roof mount and single-axis tracking are
compared with PVWatts v5's model written out below, step by step from the PVWatts v5 manual (Dobos 2014,
NREL/TP-6A20-62641) with pvlib's building blocks and nothing of ours: on the file's weather it reproduces NREL's
open-rack year within 0.02 %, so it is trusted for the mounts NREL's file does not cover. Measured agreement of
our default (annual; largest monthly difference):

==================  ============  ============  ===========================
array type          reference     ours          annual / worst month
==================  ============  ============  ===========================
fixed_open_rack     6,022.475     6,022.490     +0.0003 % / 0.0006 %
fixed_roof_mount    5,936.819     5,936.830     +0.0002 % / 0.0005 %
single_axis         6,868.463     6,868.499     +0.0005 % / 0.0014 %
==================  ============  ============  ===========================

(kWh; single axis: horizontal north-south axis.) The earlier default, SAPM with ``close_mount_glass_glass`` for roof
mount, was 5.3 % below PVWatts' roof-mount year: 20 K too hot at noon.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from energy_coop.calc.forecasting.forecast import (
    GAMMA_PDC_PREMIUM,
    GAMMA_PDC_STANDARD,
    SolarArray,
    expected_ac_power,
    to_interval_kwh,
)
from tests.pvwatts_reference import PVWATTS_FILE, pvwatts_v5, read_pvwatts_file


@pytest.fixture(scope="module")
def pvwatts():
    if not PVWATTS_FILE.exists():
        pytest.skip(f"PVWatts reference file not found at {PVWATTS_FILE} (shared/ must be a sibling of the repo)")
    meta, weather, ac = read_pvwatts_file()
    assert meta["Array Type"] == "Fixed (open rack)"
    dc_kw = float(meta["DC System Size (kW)"])
    array = SolarArray(
        latitude=float(meta["Lat (deg N)"]),
        longitude=-float(meta["Long (deg W)"]),
        altitude_m=float(meta["Elev (m)"]),
        timezone="Etc/GMT+7",
        capacity_kw_dc=dc_kw,
        capacity_kw_ac=dc_kw / float(meta["DC to AC Size Ratio"]),
        tilt_deg=float(meta["Array Tilt (deg)"]),
        azimuth_deg=float(meta["Array Azimuth (deg)"]),
        losses_pct=float(meta["System Losses"]),
        array_type="fixed_open_rack",
        gamma_pdc=GAMMA_PDC_STANDARD if meta["Module Type"] == "Standard" else GAMMA_PDC_PREMIUM,
        eta_inv_nom=float(meta["Invert Efficiency"]) / 100.0,
    )
    return array, weather, ac


def _errors(pvwatts, **options):
    array, weather, reference = pvwatts
    power = expected_ac_power([array], weather.index, weather, pd.Timedelta("1h"), **options).iloc[:, 0]
    annual = to_interval_kwh(power, pd.Timedelta("1h")).sum()
    reference_kwh = reference.sum() / 1000.0
    nrmse = np.sqrt(np.mean((power.to_numpy() - reference) ** 2)) / reference.mean()
    return annual, reference_kwh, nrmse


def test_reference_total_is_the_published_one(pvwatts):
    assert pvwatts[2].sum() / 1000.0 == pytest.approx(6023.67124, abs=1e-6)


def test_default_model_agrees_with_nrel_within_a_tenth_of_a_percent(pvwatts):
    annual, reference, nrmse = _errors(pvwatts)
    assert abs(annual / reference - 1) < 0.01  # the contract
    assert abs(annual / reference - 1) < 0.001  # measured -0.020 %
    assert nrmse < 0.007  # measured 0.57 %


def test_default_model_agrees_with_nrel_month_by_month(pvwatts):
    array, weather, reference = pvwatts
    power = expected_ac_power([array], weather.index, weather, pd.Timedelta("1h")).iloc[:, 0]
    months = weather.index.month
    ratio = power.groupby(months).sum() / pd.Series(reference, index=weather.index).groupby(months).sum()
    assert len(ratio) == 12
    assert (ratio - 1).abs().max() < 0.01  # within 1 % every month
    assert (ratio - 1).abs().max() < 0.003  # measured: largest March -0.203 %
    assert ratio.loc[3] == pytest.approx(1 - 0.00203, abs=0.0002)


def test_sunlit_midpoint_is_closer_hour_by_hour(pvwatts):
    annual, reference, nrmse = _errors(pvwatts, sunlit_midpoint=True)
    assert abs(annual / reference - 1) < 0.001  # measured +0.006 %
    assert nrmse < 0.0045  # measured 0.34 %; the sunrise/sunset hours make the difference
    _, _, plain_nrmse = _errors(pvwatts)
    assert nrmse < plain_nrmse


def test_sapm_option_for_open_rack_within_one_percent(pvwatts):
    annual, reference, nrmse = _errors(pvwatts, temperature_model="sapm")
    assert abs(annual / reference - 1) < 0.01  # measured -0.125 %
    assert nrmse < 0.025  # measured 2.1 %: SAPM runs hotter/cooler than PVWatts' Fuentes hour by hour


# ---------------------------------------------------------------------------------------------------------------
# PVWatts v5 written out from its manual (tests/pvwatts_reference.py, independent of energy_coop)

def _reference_system(array, array_type):
    tilt = 0.0 if array_type == "single_axis" else array.tilt_deg  # trackers: a horizontal axis, as PVWatts' own
    return dataclasses.replace(array, array_type=array_type, tilt_deg=tilt)


def _reference(pvwatts, array_type):
    array, weather, _ = pvwatts
    system = _reference_system(array, array_type)
    return pvwatts_v5(
        weather, latitude=system.latitude, longitude=system.longitude, elevation=system.altitude_m,
        tilt=system.tilt_deg, azimuth=system.azimuth_deg, dc_w=system.capacity_kw_dc * 1000.0,
        dc_ac_ratio=system.capacity_kw_dc / system.capacity_kw_ac, array_type=array_type,
        losses_pct=system.losses_pct)


def test_the_written_out_model_reproduces_nrel_for_open_rack(pvwatts):
    reference = _reference(pvwatts, "fixed_open_rack")
    assert reference.sum() / pvwatts[2].sum() == pytest.approx(1.0, abs=0.001)  # measured -0.020 %


@pytest.mark.parametrize("array_type, kwh", [
    ("fixed_open_rack", 6022.475),
    ("fixed_roof_mount", 5936.819),
    ("single_axis", 6868.463),
])
def test_default_model_agrees_with_pvwatts_v5_for_every_array_type(pvwatts, array_type, kwh):
    array, weather, _ = pvwatts
    reference = pd.Series(_reference(pvwatts, array_type), index=weather.index)
    assert reference.sum() / 1000.0 == pytest.approx(kwh, abs=0.01)
    ours = expected_ac_power([_reference_system(array, array_type)], weather.index, weather,
                             pd.Timedelta("1h")).iloc[:, 0]
    assert abs(ours.sum() / reference.sum() - 1) < 0.01  # the contract
    assert abs(ours.sum() / reference.sum() - 1) < 0.0001  # measured within 0.0005 %
    months = weather.index.month
    monthly = ours.groupby(months).sum() / reference.groupby(months).sum()
    assert (monthly - 1).abs().max() < 0.001  # measured within 0.0014 %


def test_sapm_was_five_percent_low_for_roof_mount(pvwatts):
    # why the default changed: SAPM's close-mount parameters heat a roof array ~20 K more than PVWatts at noon
    array, weather, _ = pvwatts
    reference = _reference(pvwatts, "fixed_roof_mount").sum()
    sapm = expected_ac_power([_reference_system(array, "fixed_roof_mount")], weather.index, weather,
                             pd.Timedelta("1h"), temperature_model="sapm").iloc[:, 0].sum()
    assert sapm / reference == pytest.approx(1 - 0.053, abs=0.005)
