"""Solar forecasts: ``forecast`` an asset's expected energy (pvlib) and compare a month's ``performance``."""

from __future__ import annotations

import datetime as dt

import click

from energy_coop.cli.context import PERIOD, AppContext, db_option, emit_json, json_option, pass_app, refusals
from energy_coop.errors import RefusedError
from energy_coop.period import Period


@click.command("forecast")
@click.option("--asset", "asset_code", required=True, metavar="CODE")
@click.option("--start", "start", metavar="DATE", help="First local day (YYYY-MM-DD); default today.")
@click.option("--days", default=7, show_default=True, type=int)
@click.option("--weather", "weather", metavar="FILE", type=click.Path(dir_okay=False),
              help="Weather CSV (SPEC section 7); the forecast then covers the file's times.")
@db_option
@json_option
@pass_app
@refusals()
def forecast_command(app: AppContext, asset_code: str, start: str | None, days: int, weather: str | None,
                     as_json: bool) -> None:
    """Expected AC energy per hour for a solar asset (pvlib), stored for comparison with the meter."""
    from energy_coop.services.forecasting import forecasts  # lazy: pandas/pvlib; keeps --help fast

    first = None
    if start:
        try:
            first = dt.date.fromisoformat(start)
        except ValueError:
            raise RefusedError(f"--start {start!r} is not a date; write YYYY-MM-DD") from None
    with app.transaction() as session:
        doc = forecasts.forecast(session, asset_code, start=first, days=days, weather_path=weather)
    for note in doc.pop("notes", []):
        click.echo(f"note: {note}", err=True)
    if as_json:
        emit_json(doc)
        return
    click.echo(f"{doc['asset_code']}: {doc['total_kwh']} kWh expected over {len(doc['points'])} hours "
               f"({doc['source']})")
    by_day: dict[str, float] = {}
    for p in doc["points"]:
        by_day[p["start"][:10]] = by_day.get(p["start"][:10], 0.0) + float(p["kwh"])
    for day, kwh in by_day.items():
        click.echo(f"  {day}  {kwh:10.3f} kWh")


@click.command("performance")
@click.argument("period", metavar="YYYY-MM", type=PERIOD)
@click.option("--asset", "asset_code", metavar="CODE")
@db_option
@json_option
@pass_app
@refusals()
def performance_command(app: AppContext, period: Period, asset_code: str | None, as_json: bool) -> None:
    """Metered vs expected energy per solar asset for a month; flags arrays below the threshold."""
    from energy_coop.services.forecasting import forecasts  # lazy: pandas/pvlib; keeps --help fast

    with app.transaction() as session:
        rows = forecasts.performance(session, str(period), asset_code=asset_code,
                                     threshold=app.config.performance_threshold)
    if as_json:
        emit_json({"period": str(period), "assets": rows})
        return
    for r in rows:
        flag = "  BELOW THRESHOLD" if r["flagged"] else ""
        click.echo(f"{r['asset_code']:<16} metered {r['metered_kwh']:>12} kWh  expected {r['expected_kwh']:>12} kWh  "
                   f"ratio {r['performance_ratio']}{flag}")
