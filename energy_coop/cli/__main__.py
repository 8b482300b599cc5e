"""``python -m energy_coop.cli``: the ``energy-coop`` command."""

from __future__ import annotations

from energy_coop.cli import main

if __name__ == "__main__":
    main()
