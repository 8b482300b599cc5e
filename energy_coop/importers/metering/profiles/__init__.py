"""Import profiles (SPEC 20): utility and inverter exports read through a described layout, no session.

* :mod:`.spec`: :class:`Profile` and :func:`load_profile` (a small TOML file, every problem named by line/key);
* :mod:`.builtin`: the built-in profiles (``BUILT_IN``);
* :mod:`.reader`: :func:`read_export` (file -> channels of exact intervals) and :func:`to_chunk` (the meter's
  readings, as the chunks of :mod:`energy_coop.importers.metering.common`), :func:`recognise`, :func:`describe`;
* :mod:`.numbers`: decimal text -> integer mWh, cumulative registers and their reset rules;
* :mod:`.times`: local times, formats and the daylight-saving rules.
"""

from energy_coop.importers.metering.profiles.builtin import BUILT_IN
from energy_coop.importers.metering.profiles.reader import (
    OWN_CHANNEL,
    ExportData,
    describe,
    read_export,
    read_lines,
    recognise,
    to_chunk,
)
from energy_coop.importers.metering.profiles.spec import Profile, ProfileInvalid, load_profile

__all__ = ["BUILT_IN", "OWN_CHANNEL", "ExportData", "Profile", "ProfileInvalid", "describe", "load_profile",
           "read_export", "read_lines", "recognise", "to_chunk"]
