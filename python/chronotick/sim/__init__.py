"""Clock simulator: a two-state oscillator model with power-law noise, aging
and temperature, in an environment scenario, measured by an NTP-like client
(and optionally disciplined by an NTP-like servo). Pure numpy, seeded.

    from chronotick import sim
    r = sim.simulate(preset="tcxo", scenario="thermal_cycle", duration_s=6 * 3600, seed=0)
    r.trace          # measurements: times, offsets (reference - local, s), delay, uncertainty, covariates
    r.true_offset    # true offset at the measurement times (s)
    r.t, r.x, r.y    # dense grid: time (s), time error x = local - true (s), fractional frequency

Sign convention: the clock's time error x = local - true; every offset is
reference - local = -x. Model equations and sources: docs/sim.md.
"""
from chronotick.sim.noise import h_from_adev, theory_adev
from chronotick.sim.params import ClockParams, MeasurementParams
from chronotick.sim.presets import PRESETS
from chronotick.sim.run import SimParams, SimResult, random_params, simulate
from chronotick.sim.scenarios import SCENARIOS

__all__ = ["simulate", "SimResult", "SimParams", "ClockParams", "MeasurementParams", "PRESETS",
           "SCENARIOS", "random_params", "theory_adev", "h_from_adev"]
