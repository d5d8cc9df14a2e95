"""Clock presets. Numbers are typical values, not any one product; sources
are listed per preset here and in docs/sim.md.

Noise levels are given as Allan deviations and converted with the IEEE Std
1139 power-law relations (noise.h_from_adev): white FM sigma_y(1 s),
flicker-FM floor, random-walk FM sigma_y at 10^4 s, and white PM as the rms
time jitter (s) of reading the clock once a second.
"""
from __future__ import annotations

import math

from chronotick.sim.noise import h_from_adev


def _h(wfm_1s=0.0, ffm_floor=0.0, rwfm_1e4=0.0, jitter_s=0.0, fpm_1s=0.0) -> dict:
    """h coefficients from: white-FM ADEV at 1 s, flicker-FM floor, RWFM ADEV
    at 1e4 s, white-PM rms jitter at 1 Hz sampling (s), flicker-PM ADEV at 1 s."""
    h = {}
    h["h_wfm"] = h_from_adev(wfm_1s, -0.5)[1] if wfm_1s else 0.0
    h["h_ffm"] = h_from_adev(ffm_floor, 0.0)[1] if ffm_floor else 0.0
    h["h_rwfm"] = h_from_adev(rwfm_1e4 / math.sqrt(1e4), 0.5)[1] if rwfm_1e4 else 0.0
    h["h_wpm"] = 8.0 * math.pi ** 2 * jitter_s ** 2  # sigma_x^2 = h_2 / (8 pi^2 dt), dt = 1 s
    # flicker PM: sigma_y^2(1 s) = h_1 (1.038 + 3 ln(2 pi 0.5)) / (4 pi^2)
    h["h_fpm"] = fpm_1s ** 2 * 4 * math.pi ** 2 / (1.038 + 3 * math.log(math.pi)) if fpm_1s else 0.0
    return h


# name -> (description with sources, ClockParams fields, MeasurementParams fields, disciplined)
_PRESETS = {
    "xo": (
        "uncompensated crystal (a PC/server motherboard clock): +25 ppm offset (crystals are "
        "specified +-20..100 ppm), 0.2 ppm/degC, aging 0.01 ppm/day (~3 ppm/year), oscillator "
        "warms 5 degC at full load; sigma_y(1 s) = 1e-9 white FM, 3e-10 flicker floor, "
        "random-walk FM 1e-9 at 1e4 s, 20 ns readout jitter. Sources: typical XO datasheets (IEEE Std 1139 terms); PC clock "
        "studies (Mills, 'Computer Network Time Synchronization', ch. 12; Veitch et al., RADclock).",
        dict(freq_offset_ppm=25.0, aging_ppm_per_day=0.01, temp_coeff_ppm_per_c=0.2,
             load_heating_c=5.0, thermal_tau_s=600.0,
             **_h(wfm_1s=1e-9, ffm_floor=3e-10, rwfm_1e4=1e-9, jitter_s=20e-9)),
        {}, False),
    "tcxo": (
        "temperature-compensated crystal: +1 ppm offset, residual +-0.5..2 ppm over -40..85 degC "
        "(0.01 ppm/degC linear plus 5e-4 ppm/degC^2 around 25 degC), aging 1 ppm/year; "
        "sigma_y(1 s) = 2e-10 white FM, 1e-10 flicker floor, random-walk FM 3e-10 at 1e4 s, 5 ns "
        "readout jitter; warms 3 degC at full load. Sources: typical TCXO datasheets "
        "(+-0.5..2 ppm over temperature, +-1 ppm/year); IEEE Std 1139.",
        dict(freq_offset_ppm=1.0, aging_ppm_per_day=0.003, temp_coeff_ppm_per_c=0.01,
             temp_quad_ppm_per_c2=5e-4, turnover_c=25.0, load_heating_c=3.0, thermal_tau_s=600.0,
             **_h(wfm_1s=2e-10, ffm_floor=1e-10, rwfm_1e4=3e-10, jitter_s=5e-9)),
        {}, False),
    "ocxo": (
        "oven-controlled crystal: 0.01 ppm offset, 5e-5 ppm/degC (-1.25..+2.25 ppb over 0..70 degC around 25 degC), "
        "aging 5e-4 ppm/day (0.5 ppb/day); noise from the lab 10 MHz OCXO in "
        "shared/data/oscillators (Stable32 table: sigma_y = 7.6e-11 at 1 s falling as 1/tau, "
        "flicker floor ~6e-12), plus 1e-11 white FM and random-walk FM 1e-12 at 1e4 s; warms 0.5 degC "
        "at full load. Sources: typical OCXO datasheets; that measurement.",
        dict(freq_offset_ppm=0.01, aging_ppm_per_day=5e-4, temp_coeff_ppm_per_c=5e-5,
             load_heating_c=0.5, thermal_tau_s=1800.0,
             **{**_h(wfm_1s=1e-11, ffm_floor=6e-12, rwfm_1e4=1e-12),
                "h_wpm": h_from_adev(7.6e-11, -1.0)[1]}),
        {}, False),
    "vm": (
        "virtual machine clock: an XO-like host clock seen through the hypervisor, 5 us readout "
        "jitter (scheduling, steal time) and about one live migration a day, each stepping the "
        "time by ~2 ms rms and the frequency by ~5 ppm rms (new host). Sources: VMware 'Timekeeping "
        "in VMware Virtual Machines'; KVM kvmclock documentation; Broomhead et al., 'Virtualize "
        "Everything but Time' (OSDI 2010).",
        dict(freq_offset_ppm=15.0, aging_ppm_per_day=0.01, temp_coeff_ppm_per_c=0.2,
             load_heating_c=5.0, thermal_tau_s=600.0, migration_per_day=1.0,
             migration_step_s=2e-3, migration_freq_ppm=5.0,
             **_h(wfm_1s=1e-9, ffm_floor=3e-10, rwfm_1e4=1e-9, jitter_s=5e-6)),
        {}, False),
    "disciplined": (
        "the xo clock kept near the reference by an NTP-like daemon (PI servo, time constant 8 "
        "polls, clock filter, step above 128 ms), measured over the internet: ~2 ms measurement "
        "noise, 2% delay spikes of tens of ms, asymmetry changing with routes -- the shape of the "
        "real traces in shared/data/clock-traces (offsets of a few ms moving slowly).",
        dict(freq_offset_ppm=25.0, aging_ppm_per_day=0.01, temp_coeff_ppm_per_c=0.2,
             load_heating_c=5.0, thermal_tau_s=600.0,
             **_h(wfm_1s=1e-9, ffm_floor=3e-10, rwfm_1e4=1e-9, jitter_s=20e-9)),
        {}, True),
}

PRESETS = {name: v[0] for name, v in _PRESETS.items()}


def preset(name: str) -> tuple[dict, dict, bool]:
    """(ClockParams fields, MeasurementParams fields, disciplined) of a preset."""
    if name not in _PRESETS:
        raise ValueError(f"unknown preset {name!r}; valid presets: {', '.join(sorted(_PRESETS))}")
    _, c, m, d = _PRESETS[name]
    return dict(c), dict(m), d
