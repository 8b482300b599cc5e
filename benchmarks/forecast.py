"""Benchmark: forecast a year hourly for many solar assets at one site (SPEC section 12).

Our vectorised path (:func:`energy_coop.calc.forecasting.forecast.expected_ac_power`, all assets in one call) against its
baseline in the same run: a loop of pvlib ``ModelChain`` runs, one per asset, configured explicitly with the
same models (PVWatts DC and AC, Perez transposition, physical IAM, SAPM cell temperature, no spectral loss,
PVWatts losses reduced to the asset's total) and the same weather, indexed at interval midpoints so pvlib
places the sun where we do.

Weather: the typical-year file that ships inside pvlib (``703165TY.csv``, Sand Point AK, 8,760 hours; TMY3
rows are hour-ending, so interval start = stamp − 1 h). Assets: fixed open-rack and roof-mount arrays with
tilt, azimuth, capacity and losses drawn from a seeded random generator.

Equality: annual AC energy per asset [kWh] must agree within 1e-6 kWh for every asset the baseline ran.
If the baseline is run for fewer assets than the vectorised path (``--baseline-assets``), its time is
extrapolated linearly to all assets, and the report says so.

Usage::

    python benchmarks/forecast.py                     # 1,000 assets, baseline on 100 of them
    python benchmarks/forecast.py --baseline-assets 1000
    python benchmarks/forecast.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from energy_coop.calc.forecasting.forecast import (
    SAPM_PARAMETER_SET,
    SolarArray,
    expected_ac_power,
    to_interval_kwh,
)
from energy_coop.importers.weather import SAND_POINT_TMY, TMY_DIR

TMY_PATH = str(TMY_DIR / SAND_POINT_TMY)

HOUR = pd.Timedelta("1h")
TOLERANCE_KWH = 1e-6
TARGET_SPEEDUP = 15.0


def load_weather() -> tuple[pd.DataFrame, dict]:
    tmy, meta = pvlib.iotools.read_tmy3(TMY_PATH, coerce_year=1990, map_variables=True)
    weather = tmy[["ghi", "dni", "dhi", "temp_air", "wind_speed"]].astype(float)
    weather.index = (tmy.index - HOUR).tz_convert("Etc/GMT+9")  # hour-ending -> interval start
    return weather, meta


def make_assets(n: int, meta: dict, seed: int = 20240601) -> list[SolarArray]:
    rng = np.random.default_rng(seed)
    assets = []
    for i in range(n):
        dc = float(rng.uniform(5.0, 500.0))
        assets.append(SolarArray(
            latitude=meta["latitude"], longitude=meta["longitude"], altitude_m=meta["altitude"],
            timezone="Etc/GMT+9", capacity_kw_dc=dc, capacity_kw_ac=dc / float(rng.uniform(1.0, 1.4)),
            tilt_deg=float(rng.uniform(0.0, 60.0)), azimuth_deg=float(rng.uniform(90.0, 270.0)),
            losses_pct=float(rng.uniform(8.0, 18.0)),
            array_type="fixed_roof_mount" if i % 4 == 3 else "fixed_open_rack", code=f"S{i:04d}",
        ))
    return assets


def vectorised(assets, weather) -> pd.Series:
    # the SAPM option, which the ModelChain baseline below has (the default is PVWatts' Fuentes since issue 17:
    # benchmarks/forecast_temperature.py)
    power = expected_ac_power(assets, weather.index, weather, HOUR, temperature_model="sapm")
    return to_interval_kwh(power, HOUR).sum()


def model_chain_one(asset: SolarArray, weather_mid: pd.DataFrame) -> float:
    location = pvlib.location.Location(asset.latitude, asset.longitude, tz=asset.timezone,
                                       altitude=asset.altitude_m)
    losses = {k: 0.0 for k in ("soiling", "shading", "snow", "mismatch", "wiring", "connections", "lid",
                               "nameplate_rating", "age", "availability")}
    losses["soiling"] = asset.losses_pct  # pvwatts_losses combines to exactly this one figure
    system = pvlib.pvsystem.PVSystem(
        surface_tilt=asset.tilt_deg, surface_azimuth=asset.azimuth_deg, albedo=asset.albedo,
        module_parameters={"pdc0": asset.capacity_kw_dc * 1000.0, "gamma_pdc": asset.gamma_pdc},
        inverter_parameters={"pdc0": asset.capacity_kw_ac * 1000.0 / asset.eta_inv_nom,
                             "eta_inv_nom": asset.eta_inv_nom},
        temperature_model_parameters=pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][
            SAPM_PARAMETER_SET[asset.array_type]],
        losses_parameters=losses,
    )
    chain = pvlib.modelchain.ModelChain(
        system, location, dc_model="pvwatts", ac_model="pvwatts", aoi_model="physical",
        spectral_model="no_loss", temperature_model="sapm", losses_model="pvwatts",
        transposition_model="perez", solar_position_method="nrel_numpy", airmass_model="kastenyoung1989",
    )
    chain.run_model(weather_mid)
    return float(to_interval_kwh(chain.results.ac.fillna(0.0).clip(lower=0.0), HOUR).sum())


def machine() -> dict:
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "pvlib": pvlib.__version__, "pandas": pd.__version__, "numpy": np.__version__}


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=1000)
    parser.add_argument("--baseline-assets", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="vectorised runs; the median is reported")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    n_base = min(max(1, args.baseline_assets), args.assets)

    weather, meta = load_weather()
    assets = make_assets(args.assets, meta)
    rss_before = max_rss_mib()

    times = []
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        ours = vectorised(assets, weather)
        times.append(time.perf_counter() - t0)
    t_ours = float(np.median(times))
    rss_after_ours = max_rss_mib()

    weather_mid = weather.set_axis(weather.index + HOUR / 2)
    t0 = time.perf_counter()
    baseline = [model_chain_one(a, weather_mid) for a in assets[:n_base]]
    t_base_measured = time.perf_counter() - t0
    t_base = t_base_measured * args.assets / n_base

    diff = np.abs(ours.iloc[:n_base].to_numpy() - np.asarray(baseline))
    report = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "assets": args.assets,
        "hours": len(weather),
        "vectorised_s": round(t_ours, 3),
        "vectorised_runs_s": [round(t, 3) for t in times],
        "baseline_assets_run": n_base,
        "baseline_measured_s": round(t_base_measured, 3),
        "baseline_s": round(t_base, 3),
        "baseline_extrapolated": n_base < args.assets,
        "speedup": round(t_base / t_ours, 1),
        "target_speedup": TARGET_SPEEDUP,
        "max_abs_diff_kwh": float(diff.max()),
        "assets_compared": n_base,
        "equal_within_kwh": TOLERANCE_KWH,
        "total_kwh_vectorised": round(float(ours.sum()), 3),
        "max_rss_mib_before": round(rss_before, 1),
        "max_rss_mib_after_vectorised": round(rss_after_ours, 1),
        "max_rss_mib_end": round(max_rss_mib(), 1),
    }
    ok = diff.max() <= TOLERANCE_KWH and report["speedup"] >= TARGET_SPEEDUP
    report["ok"] = bool(ok)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        extra = f" (measured {n_base}, extrapolated linearly)" if report["baseline_extrapolated"] else ""
        print(f"{args.assets} assets x {len(weather)} h at one site")
        print(f"  vectorised expected_ac_power: {t_ours:.2f} s (median of {len(times)})")
        print(f"  ModelChain loop:              {t_base:.2f} s{extra}")
        print(f"  speed-up:                     {report['speedup']}x (target >= {TARGET_SPEEDUP:g}x)")
        print(f"  max |diff| over {n_base} assets: {diff.max():.3g} kWh per asset-year (<= {TOLERANCE_KWH:g})")
        print(f"  peak RSS: {rss_before:.0f} MiB before, {rss_after_ours:.0f} MiB after vectorised, "
              f"{report['max_rss_mib_end']:.0f} MiB at end")
        print("  OK" if ok else "  FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
