"""The built-in profiles, written as profile files themselves (so ``profiles show NAME`` prints a working example)."""

from __future__ import annotations

from energy_coop.importers.metering.profiles.spec import Profile, load_profile

UTILITY_BLOCKS = '''\
name = "utility-blocks"
description = "A utility's 'download my data' net-metering export: metadata lines, then (per day) an 'Energy Delivered' and an 'Energy Received' block, each with its own header; periods written 'START to END' in local time"
layout = "blocks"

[columns]
period = ["interval", "period", "time period", "interval period", "date/time"]
energy = ["usage", "energy", "kwh", "wh", "value", "reading"]

[blocks]
delivered = ["energy delivered", "delivered"]
received = ["energy received", "received"]

[time]
formats = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p"]
period_separator = "to"
ambiguous = "in-order"

[energy]
unit = "header"

[metadata]
meter = ["meter number", "meter", "meter id"]
'''

START_END_KWH = '''\
name = "start-end-kwh"
description = "One table of a premises' consumption: start, end and energy per interval, in local time (metadata lines before the header are skipped)"
layout = "table"

[columns]
start = ["start", "start time", "start date", "interval start", "from"]
end = ["end", "end time", "end date", "interval end", "to"]
energy = ["kwh", "wh", "usage", "consumption", "energy", "value"]

[time]
formats = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%d.%m.%Y %H:%M"]
ambiguous = "in-order"

[energy]
unit = "header"
channel = "delivered"

[metadata]
meter = ["meter number", "meter", "meter id"]
'''

INVERTER_REGISTER = '''\
name = "inverter-register"
description = "An inverter monitoring export: the time of each reading and the inverter's lifetime energy counter in kWh; each row's energy is the counter's increase since the row before (a counter reset to zero starts again: the row's value, when below 1 kWh)"
layout = "table"

[columns]
end = ["date/time", "timestamp", "time", "date and time", "datetime"]
energy = ["total yield", "total energy", "lifetime energy", "energy counter", "e-total", "etotal"]

[time]
formats = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%m/%d/%Y %H:%M"]
ambiguous = "in-order"

[energy]
unit = "kWh"
channel = "received"
cumulative = true
reset = "restart"
restart_below = "1"
'''

BUILT_IN: dict[str, Profile] = {
    p.name: p for p in (load_profile(text, f"built-in profile {i}", built_in=True)
                        for i, text in enumerate((UTILITY_BLOCKS, START_END_KWH, INVERTER_REGISTER), start=1))
}
