"""Cell temperature as PVWatts v5 computes it: Fuentes' (1987) heat balance, vectorised over time and arrays.

PVWatts v5 (Dobos 2014, NREL/TP-6A20-62641, section 7) takes the module temperature from Fuentes'
first-principles energy balance (SAND85-0330): absorbed sunlight against convection (free and forced, from the
wind at module height), long-wave radiation to the sky and to the ground, and the module's thermal mass
between time steps. The one parameter that differs by mount is the **installed nominal operating cell
temperature**:

====================  ==========  =====================================================
array type            INOCT       why
====================  ==========  =====================================================
fixed_open_rack       45 °C       air flows on both sides
fixed_roof_mount      49 °C       restricted air flow behind the modules (thermal mass raised as
                                  Fuentes' eq. 26/27: ``C = 11,000 × (1 + (INOCT − 48 °C) / 12)`` J/m²K)
single_axis           45 °C       PVWatts treats trackers as open rack
====================  ==========  =====================================================

The fixed values of PVWatts v5 (also pvlib's :py:func:`pvlib.temperature.fuentes` defaults): absorptance 0.83,
emissivity 0.84, hydraulic diameter 0.5 m, module height 5 m, wind measured at 9.144 m and carried to module
height by a 0.2 power law (Menicucci and Hall) plus 1e-4 m/s, sky temperature ``0.68 × 0.0552 × Ta^1.5 + 0.32
× Ta``, free convection with ``sin(tilt)`` fixed at 0.5 (Fuentes' 30°, whatever the array's tilt: PVWatts
passes none), turbulent forced convection above Reynolds 1.2e5, thermal mass 11,000 J/m²K. The heat input is
the **total** plane-of-array irradiance (before the cover's angle-of-incidence loss); negative wind is taken
as 0. PVWatts' conventions for the dark: an interval with no plane-of-array irradiance has the cell at air
temperature, and the next sunlit interval starts from there with no absorbed sun before it; the first starts
from 20 °C.

How it is vectorised: per interval, PVWatts iterates the balance ten times, starting from the previous
interval's temperature, because the loss coefficients depend on the temperature being solved for. Here the
same equations are iterated for many intervals and arrays at once: sunlit cells only, in blocks of consecutive
intervals (``BLOCK_CELLS`` cells, in time order, so that a block's predecessors are final and its work stays
in cache), a fixed-point sweep over the whole block with each interval's previous temperature taken from the
last sweep, a secant step on the residual, and only the cells still moving (and the interval after each)
sweeping again, until no residual exceeds ``TOLERANCE_K``. That is the point PVWatts' per-interval loop
converges to; intervals couple through the thermal lag ``exp(−h·Δt/C)``, about e^−10 at hourly steps, so about
four sweeps do at hourly steps and more at minutes. Where calm air makes the plain iteration oscillate (the
cell within a fraction of a degree of the air, where free convection's |ΔT|^0.32 is steepest), PVWatts' ten
iterations stop wherever they are; here a bracket bisects to the balance instead (``BRACKET_AFTER``,
``BISECT_AFTER``), a few tenths of a degree from them at low sun. The sweeps run in single precision
(3e-5 K at 300 K, inside the tolerance; half the memory traffic). Pure numpy;
``tests/unit/forecast/test_thermal.py`` compares it with pvlib's per-interval loop.
"""

from __future__ import annotations

import math

import numpy as np

from energy_coop.vocabulary import ARRAY_TYPES

#: Installed nominal operating cell temperature per array type, PVWatts v5 [°C].
INOCT = {"fixed_open_rack": 45.0, "fixed_roof_mount": 49.0, "single_axis": 45.0}
assert set(INOCT) == set(ARRAY_TYPES)

ABSORPTANCE = 0.83  # [unitless]
EMISSIVITY = 0.84  # [unitless]
STEFAN_BOLTZMANN = 5.669e-8  # [W/m²K⁴], Fuentes' value
HYDRAULIC_DIAMETER = 0.5  # [m]
MODULE_HEIGHT = 5.0  # [m]
WIND_HEIGHT = 9.144  # [m]
THERMAL_MASS = 11000.0  # [J/m²K]
SIN_TILT = 0.5  # Fuentes' sin(30°) in the free-convection Grashof number
START_K = 293.15  # first interval's previous temperature [K]
REYNOLDS_TURBULENT = 1.2e5
TOLERANCE_K = 1e-3  # [K]
MAX_SWEEPS = 400
BLOCK_CELLS = 1 << 16
WORKING_DTYPE = np.float32
BRACKET_AFTER = 30
BISECT_AFTER = 100
_PRANDTL = 0.71
_KELVIN = 273.15
_NOCT_AIR = 293.15  # 20 °C, the NOCT condition's air temperature [K]
_NOCT_SKY = 282.21  # the NOCT condition's sky temperature [K]
_NOCT_SUN = 800.0  # [W/m²]


def _air(tave):
    """Air density [kg/m³], kinematic viscosity [m²/s] and conductivity [W/mK] at ``tave`` [K] (Fuentes)."""
    density = 0.003484 * 101325.0 / tave
    viscosity = 0.24237e-6 * tave ** 0.76 / density
    conductivity = 2.1695e-4 * tave ** 0.84
    return density, viscosity, conductivity


def _top_convection(tave, wind, delta, turbulent_allowed):
    """Convective coefficient of the top surface [W/m²K]: free and forced combined as a cube-root sum."""
    density, viscosity, conductivity = _air(tave)
    reynolds = wind * HYDRAULIC_DIAMETER / viscosity
    laminar = 0.8600 / np.sqrt(reynolds) * density * wind * 1007.0 / _PRANDTL ** 0.67
    forced = laminar
    if turbulent_allowed:
        turbulent = reynolds > REYNOLDS_TURBULENT
        if np.any(turbulent):
            forced = np.where(
                turbulent, 0.0282 / reynolds ** 0.2 * density * wind * 1007.0 / _PRANDTL ** 0.4, laminar)
    grashof = 9.8 / tave * delta * HYDRAULIC_DIAMETER ** 3 / viscosity ** 2 * SIN_TILT
    free = 0.21 * (grashof * _PRANDTL) ** 0.32 * conductivity / HYDRAULIC_DIAMETER
    return np.cbrt(free ** 3 + forced ** 3)


# The same coefficient as powers of the three variables, for the sweeps: with density ρ = R/T, viscosity
# ν = V·T^1.76/R and conductivity k = K·T^0.84 (Fuentes' air properties),
#   laminar forced   0.86·Re^−0.5·ρ·w·cp/Pr^0.67  = LAMINAR · w^0.5 · T^−0.12
#   turbulent forced 0.0282·Re^−0.2·ρ·w·cp/Pr^0.4 = TURBULENT · w^0.8 · T^−0.648   (where Re > 1.2e5,
#                                                    that is w > REYNOLDS_WIND · T^1.76)
#   free             0.21·(Gr·Pr)^0.32·k/D        = FREE · |ΔT|^0.32 · T^−0.6064
# with T the mean of cell and air and w the wind at module height; cubed, as the cube-root sum needs them,
# each is one exponential of a sum of logarithms (test_thermal checks this form against the named one).
_R = 0.003484 * 101325.0
_V = 0.24237e-6
_K = 2.1695e-4
_D = HYDRAULIC_DIAMETER
LAMINAR = 0.8600 * (_V / (_D * _R)) ** 0.5 * _R * 1007.0 / _PRANDTL ** 0.67
TURBULENT = 0.0282 * (_V / (_D * _R)) ** 0.2 * _R * 1007.0 / _PRANDTL ** 0.4
FREE = 0.21 * (9.8 * _D ** 3 * SIN_TILT * _PRANDTL * _R ** 2 / _V ** 2) ** 0.32 * _K / _D
REYNOLDS_WIND = REYNOLDS_TURBULENT * _V / (_D * _R)


def _forced_cubed_terms(wind):
    """Per cell, from the wind at module height: ``log(forced³) = c + e·log T``, with c laminar and turbulent,
    and turbulence sets in where ``log T < t``; returns (c_laminar, c_turbulent, t)."""
    log_w = np.log(wind)
    c_laminar = 3 * np.log(LAMINAR) + 1.5 * log_w
    c_turbulent = 3 * np.log(TURBULENT) + 2.4 * log_w
    threshold = (log_w - np.log(REYNOLDS_WIND)) / 1.76
    return c_laminar, c_turbulent, threshold


def _top_convection_fast(tave, delta, c_laminar, c_turbulent, threshold):
    """:func:`_top_convection` from the wind's precomputed terms (:func:`_forced_cubed_terms`)."""
    log_t = np.log(tave)
    forced_log = c_laminar - 0.36 * log_t
    turbulent = log_t < threshold
    if turbulent.any():
        forced_log[turbulent] = c_turbulent[turbulent] - 1.944 * log_t[turbulent]
    with np.errstate(divide="ignore"):
        free_log = _FREE_LOG3 + 0.96 * np.log(delta) - 1.8192 * log_t
    return np.cbrt(np.exp(forced_log) + np.exp(free_log))


_FREE_LOG3 = 3 * math.log(FREE)


def inoct_constants(inoct_c) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per array, from its INOCT [°C]: the ground temperature ratio, the total-to-top convection ratio and the
    thermal mass [J/m²K] (Fuentes' calibration at the NOCT condition: 800 W/m², air 20 °C, wind 1 m/s)."""
    tinoct = np.asarray(inoct_c, dtype=float) + _KELVIN
    h_top = _top_convection((tinoct + _NOCT_AIR) / 2, 1.0, tinoct - _NOCT_AIR, False)
    h_ground = EMISSIVITY * STEFAN_BOLTZMANN * (tinoct ** 2 + _NOCT_AIR ** 2) * (tinoct + _NOCT_AIR)
    back = (ABSORPTANCE * _NOCT_SUN - EMISSIVITY * STEFAN_BOLTZMANN * (tinoct ** 4 - _NOCT_SKY ** 4)
            - h_top * (tinoct - _NOCT_AIR)) / ((h_ground + h_top) * (tinoct - _NOCT_AIR))
    t_ground = np.clip((tinoct ** 4 - back * (tinoct ** 4 - _NOCT_AIR ** 4)) ** 0.25, _NOCT_AIR, tinoct)
    ground_ratio = (t_ground - _NOCT_AIR) / (tinoct - _NOCT_AIR)
    convection_ratio = (ABSORPTANCE * _NOCT_SUN - EMISSIVITY * STEFAN_BOLTZMANN
                        * (2 * tinoct ** 4 - _NOCT_SKY ** 4 - t_ground ** 4)) / (h_top * (tinoct - _NOCT_AIR))
    mass = np.where(tinoct > 321.15, THERMAL_MASS * (1 + (tinoct - 321.15) / 12), THERMAL_MASS)
    return ground_ratio, convection_ratio, mass


def fuentes_cell_temperature(
    poa_global,
    temp_air,
    wind_speed,
    inoct_c,
    step_hours,
    *,
    follows=None,
    temp_air_before=None,
) -> np.ndarray:
    """Cell temperature [°C] of each array in each interval, PVWatts v5's Fuentes model (module docstring).

    Parameters
    ----------
    poa_global : array (T, N) or (T,)
        Total plane-of-array irradiance [W/m²]; ≤ 0 or NaN is dark (the cell is at air temperature).
    temp_air, wind_speed : array (T,) or (T, 1), or a number
        Air temperature [°C] and wind speed at 9.144 m [m/s] (negative is taken as 0, as PVWatts does).
    inoct_c : float or array (N,)
        Installed nominal operating cell temperature [°C] (:data:`INOCT`).
    step_hours : float or array (T,)
        Interval length [h], the thermal lag's time step.
    follows : bool array (T,), optional
        Whether interval ``i`` directly follows row ``i − 1`` of these arrays (default: all do). Where it
        does not (dark rows were left out in between), interval ``i`` starts from ``temp_air_before`` with no
        sun before.
    temp_air_before : array (T,), optional
        Air temperature [°C] of the interval before each row, used where ``follows`` is False (and for the
        first row); default 20 °C, PVWatts' starting temperature.

    Returns
    -------
    ndarray (T, N)
        Cell temperature [°C]; air temperature where dark.
    """
    poa = np.nan_to_num(np.asarray(poa_global, dtype=float), nan=0.0)
    if poa.ndim == 1:
        poa = poa[:, None]
    n_t = poa.shape[0]
    ground_ratio, convection_ratio, mass = (np.asarray(v, dtype=float).reshape(-1)
                                            for v in inoct_constants(inoct_c))
    n_arrays = max(poa.shape[1], ground_ratio.size)
    poa = np.broadcast_to(poa, (n_t, n_arrays))
    ground_ratio, convection_ratio, mass = (np.broadcast_to(v, (n_arrays,)) for v in
                                            (ground_ratio, convection_ratio, mass))

    def per_row(values, fill=None):
        out = np.asarray(values if values is not None else fill, dtype=float).reshape(-1)
        return np.broadcast_to(out, (n_t,)) if out.size == 1 else out

    tamb = per_row(temp_air) + _KELVIN
    wind = np.maximum(per_row(wind_speed), 0.0)
    step_s = per_row(step_hours) * 3600.0
    before = per_row(temp_air_before, START_K - _KELVIN) + _KELVIN
    follows = np.ones(n_t, dtype=bool) if follows is None else np.array(follows, dtype=bool).reshape(-1)
    if n_t:
        follows[0] = False

    temp = np.broadcast_to(tamb[:, None], (n_t, n_arrays)).copy()
    lit = poa > 0.0
    rows, cols = np.nonzero(lit)  # the lit cells, row by row, as flat vectors from here on
    if rows.size == 0:
        return temp - _KELVIN
    sun = poa[rows, cols] * ABSORPTANCE
    # the interval before: lit and directly before (its temperature is solved with this one), or dark
    # (PVWatts leaves the cell at that interval's air temperature, and no sun was absorbed)
    index = np.full((n_t, n_arrays), -1, dtype=np.int64)
    index[rows, cols] = np.arange(rows.size)
    up = np.maximum(rows - 1, 0)
    pred = np.where(follows[rows], index[up, cols], -1)
    linked = pred >= 0
    pred = np.where(linked, pred, 0)
    sun_before = np.where(linked, sun[pred], 0.0)
    dark_before = np.where(follows[rows], tamb[up], before[rows])

    ta = tamb[rows]
    t_sky = 0.68 * (0.0552 * ta ** 1.5) + 0.32 * ta
    wind_module = wind[rows] * (MODULE_HEIGHT / WIND_HEIGHT) ** 0.2 + 1e-4
    step = step_s[rows]
    ratio_ground, ratio_convection, cap = ground_ratio[cols], convection_ratio[cols], mass[cols]
    # first guess: the NOCT rule of thumb
    inoct_k = np.broadcast_to(np.asarray(inoct_c, dtype=float).reshape(-1), (n_arrays,))[cols] + _KELVIN
    x = ta + (inoct_k - _NOCT_AIR) * sun / (ABSORPTANCE * _NOCT_SUN)
    successor = np.full(rows.size, -1, dtype=np.int64)
    successor[pred[linked]] = np.nonzero(linked)[0]
    # the balance's solution lies in this bracket (the cell is neither 100 K below the air nor 200 K above
    # it); each sweep narrows it by the sign of the residual, for the safeguard below
    low = ta - 100.0
    high = ta + 200.0
    seen = np.full(rows.size, np.nan)
    last_x = np.zeros(rows.size)
    last_residual = np.zeros(rows.size)
    es = EMISSIVITY * STEFAN_BOLTZMANN
    c_laminar, c_turbulent, threshold = _forced_cubed_terms(wind_module)
    # the sweeps work in single precision (3e-5 K at 300 K, well inside TOLERANCE_K): half the memory traffic
    (ta, t_sky, step, ratio_ground, ratio_convection, cap, sun, sun_before, dark_before, x, low, high, seen,
     last_x, last_residual, c_laminar, c_turbulent, threshold) = (
        np.asarray(v, dtype=WORKING_DTYPE) for v in (
            ta, t_sky, step, ratio_ground, ratio_convection, cap, sun, sun_before, dark_before, x, low, high,
            seen, last_x, last_residual, c_laminar, c_turbulent, threshold))
    pending = np.zeros(rows.size, dtype=bool)
    # Blocks of consecutive intervals, in time order, each solved before the next: an interval's predecessor
    # in an earlier block is final already, and a block's work fits in the processor's caches.
    rows_per_block = max(1, BLOCK_CELLS // n_arrays)
    cuts = np.searchsorted(rows, np.arange(0, n_t + rows_per_block, rows_per_block))
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        if lo == hi:
            continue
        everything = slice(lo, hi)
        active = everything  # the cells still iterating: all at first (a slice, no copies), then index arrays
        for sweep in range(MAX_SWEEPS):
            a = active
            xa = x[a]
            tam, tsk = ta[a], t_sky[a]
            link = linked[a]
            previous = np.where(link, x[pred[a]], dark_before[a])
            h_conv = ratio_convection[a] * _top_convection_fast(
                (xa + tam) / 2, np.abs(xa - tam), c_laminar[a], c_turbulent[a], threshold[a])
            h_sky = es * (xa * xa + tsk * tsk) * (xa + tsk)
            t_ground = tam + ratio_ground[a] * (xa - tam)
            h_ground = es * (xa * xa + t_ground * t_ground) * (xa + t_ground)
            h_total = h_conv + h_sky + h_ground
            eigen = -h_total / cap[a] * step[a]
            lag = np.exp(np.maximum(eigen, -10.0))
            lag[eigen <= -10.0] = 0.0  # PVWatts' cut-off
            s1, s0 = sun[a], sun_before[a]
            new = previous * lag + ((1.0 - lag) * (h_conv * tam + h_sky * tsk + h_ground * t_ground + s0
                                                   + (s1 - s0) / eigen) + s1 - s0) / h_total
            # converged: the plain step (the residual) is within the tolerance, or the bracket is narrower
            moving = np.abs(new - xa) >= TOLERANCE_K
            if 0 < sweep < BRACKET_AFTER:
                # secant step on the residual g(x) − x, from this sweep's and the last: superlinear where the
                # plain iteration contracts by a constant factor
                residual = new - xa
                slope = residual - last_residual[a]
                run = xa - last_x[a]
                last_x[a] = xa
                last_residual[a] = residual
                ok = np.abs(slope) > 1e-12
                secant = xa - residual * np.divide(run, slope, out=np.zeros_like(run), where=ok)
                # only where the slope is plausible (a contraction's secant step is at most ten plain steps; a
                # previous temperature that moved in between spoils the slope) and the cell is still moving: a
                # converged cell keeps its plain step
                ok &= moving & (np.abs(secant - xa) <= 10.0 * np.abs(residual))
                new = np.where(ok, secant, new)
            elif sweep == 0:
                last_x[a] = xa
                last_residual[a] = new - xa
            if sweep >= BRACKET_AFTER:
                # Safeguard for the few cells still moving: in calm air with the cell within a fraction
                # of a degree of the air, free convection's |ΔT|^0.32 makes the plain iteration oscillate
                # without settling (PVWatts' ten iterations stop wherever they are). Each sweep narrows a
                # bracket by the residual's sign; a step that leaves it, or any step after BISECT_AFTER
                # sweeps, bisects. The bracket holds for one previous temperature, so it starts again where
                # that has moved.
                reset = ~(np.abs(previous - seen[a]) < TOLERANCE_K * 1e-3)
                seen[a] = previous
                low_a = np.where(reset, tam - 100.0, low[a])
                high_a = np.where(reset, tam + 200.0, high[a])
                above = new > xa
                low_a = np.where(above, xa, low_a)
                high_a = np.where(above, high_a, xa)
                low[a] = low_a
                high[a] = high_a
                bisect = (new < low_a) | (new > high_a)
                if sweep >= BISECT_AFTER:
                    bisect |= ~reset
                new[bisect] = (low_a[bisect] + high_a[bisect]) / 2
                moving &= (high_a - low_a) >= TOLERANCE_K
            x[a] = new
            if not moving.any():
                break
            # next sweep: the cells that moved and the intervals right after them
            still = np.flatnonzero(moving) + lo if a is everything else a[moving]
            pending[still] = True
            after = successor[still]
            pending[after[(after >= 0) & (after < hi)]] = True
            active = np.flatnonzero(pending)
            pending[active] = False
    temp[rows, cols] = x
    return temp - _KELVIN
