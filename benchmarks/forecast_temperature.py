"""Benchmark: the forecast's cell-temperature models over a year hourly, one process per run (issue 17).

One command per model, so that ``farm-bench`` can time them as whole processes side by side::

    farm-bench -n 5 --timeout 900 --vs 'python benchmarks/forecast_temperature.py --model sapm' -- \\
        python benchmarks/forecast_temperature.py --model fuentes

``--model``:

- ``fuentes``: the default since issue 17, :func:`energy_coop.calc.forecasting.forecast.expected_ac_power` with
  PVWatts v5's Fuentes heat balance solved for all hours and arrays at once
  (:mod:`energy_coop.calc.forecasting.thermal`);
- ``sapm``: the same chain with the closed-form SAPM cell temperature, the default before issue 17;
- ``fuentes-loop``: the same chain with pvlib's :py:func:`pvlib.temperature.fuentes` per array (a Python loop over
  the hours), which was the ``temperature_model='fuentes'`` option before issue 17; computed here by running our
  chain and replacing its cell temperature by pvlib's loop, array by array;
- ``none``: everything but the model chain (imports, the weather, the arrays), to subtract.

Same weather and arrays as ``benchmarks/forecast.py`` (pvlib's Sand Point AK typical year, seeded open-rack and
roof-mount arrays). ``--check`` also runs pvlib's loop for the first ``--check`` arrays and prints the largest
difference in annual AC energy per array between the vectorised and the loop Fuentes [kWh].
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from forecast import HOUR, load_weather, make_assets  # noqa: E402  (benchmarks/forecast.py)

from energy_coop.calc.forecasting import forecast as chain  # noqa: E402
from energy_coop.calc.forecasting.thermal import INOCT  # noqa: E402


def loop_fuentes_kwh(assets, weather) -> pd.Series:
    """Annual AC [kWh] per array with pvlib's per-hour Fuentes loop in place of the vectorised one.

    The loop runs over the sunlit hours the chain keeps (about half the year); before issue 17 it ran over all
    8,760, so this baseline is, if anything, faster than the option it stands for. Consecutive sunlit hours across
    a night are handed to it as consecutive, which changes its first morning hours by far less than the check's
    figures show (the thermal lag over an hour is about e^-10).
    """

    def per_array(poa_global, temp_air, wind, inoct, step_hours, **_):
        out = np.empty_like(poa_global)
        index = pd.date_range("2001-01-01", periods=poa_global.shape[0], freq="1h")
        for i in range(poa_global.shape[1]):
            out[:, i] = pvlib.temperature.fuentes(
                pd.Series(poa_global[:, i], index=index), pd.Series(np.ravel(temp_air), index=index),
                pd.Series(np.maximum(np.ravel(wind), 0.0), index=index), float(inoct[i])).to_numpy()
        return out

    original = chain.fuentes_cell_temperature
    chain.fuentes_cell_temperature = per_array
    try:
        power = chain.expected_ac_power(assets, weather.index, weather, HOUR)
    finally:
        chain.fuentes_cell_temperature = original
    return chain.to_interval_kwh(power, HOUR).sum()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["fuentes", "sapm", "fuentes-loop", "none"], default="fuentes")
    parser.add_argument("--assets", type=int, default=1000)
    parser.add_argument("--check", type=int, default=0, help="compare with pvlib's loop on this many arrays")
    args = parser.parse_args(argv)
    weather, meta = load_weather()
    assets = make_assets(args.assets, meta)
    report = {"model": args.model, "assets": len(assets), "hours": len(weather)}
    t0 = time.perf_counter()
    if args.model in ("fuentes", "sapm"):
        power = chain.expected_ac_power(assets, weather.index, weather, HOUR, temperature_model=args.model)
        kwh = chain.to_interval_kwh(power, HOUR).sum()
        report["total_kwh"] = round(float(kwh.sum()), 3)
    elif args.model == "fuentes-loop":
        kwh = loop_fuentes_kwh(assets, weather)
        report["total_kwh"] = round(float(kwh.sum()), 3)
    report["seconds_in_process"] = round(time.perf_counter() - t0, 3)
    if args.check:
        few = assets[:args.check]
        ours = chain.to_interval_kwh(chain.expected_ac_power(few, weather.index, weather, HOUR), HOUR).sum()
        loop = loop_fuentes_kwh(few, weather)
        report["check_arrays"] = len(few)
        report["check_inoct"] = sorted({INOCT[a.array_type] for a in few})
        report["check_max_abs_kwh"] = float(np.max(np.abs(ours.to_numpy() - loop.to_numpy())))
        report["check_max_rel"] = float(np.max(np.abs(ours.to_numpy() / loop.to_numpy() - 1)))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
