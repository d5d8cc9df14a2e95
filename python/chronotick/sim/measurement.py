"""NTP-like measurements of the simulated clock.

One exchange at true time t, with theta = reference - local = -x(t):

    d_f = min_delay/2 + a/2 + q_f + s_f      forward one-way delay
    d_b = min_delay/2 - a/2 + q_b + s_b      backward one-way delay
    measured offset = theta + (d_f - d_b)/2,  delay = d_f + d_b,
    uncertainty     = delay/2 + root_dispersion  (NTP bound: |error| <= delay/2)

a: path asymmetry, a level redrawn (mean asymmetry_s, rms asymmetry_jitter_s)
at Poisson route changes (with a server pool, servers > 1 or a server spread
set: each exchange asks a random server s, whose own extra delay D_s ~
U(0, server_delay_spread_s) adds to min_delay and whose own asymmetry b_s ~
N(0, server_asymmetry_s) adds to a, clipped to 0.9 of that server's delay); q: exponential queueing of mean
queue_mean_s * (1 + congestion_queue_gain * net_congestion); s: with probability
spike_prob + congestion_spike_prob * net_congestion one direction gets an
exponential spike of mean spike_mean_s; with probability loss_prob the reply
is lost. The random draws of the j-th exchange are fixed in advance (per
stream), so the measurement noise does not depend on when the poll happens
to be scheduled.
"""
from __future__ import annotations

import math

import numpy as np

from chronotick.sim.params import MeasurementParams

HOUR = 3600.0


class Stream:
    """Pre-drawn randomness of up to `slots` exchanges plus the dense
    asymmetry level, for one client (the trace's, or the servo's)."""

    def __init__(self, mp: MeasurementParams, rng: np.random.Generator, slots: int,
                 n: int, dt: float, congestion: np.ndarray) -> None:
        self.mp = mp
        self.qf = rng.standard_exponential(slots)
        self.qb = rng.standard_exponential(slots)
        self.spike_u = rng.random(slots)
        self.spike_fwd = (rng.random(slots) < 0.5).astype(np.float64)
        self.spike_size = rng.standard_exponential(slots) * mp.spike_mean_s
        self.lost = rng.random(slots) < mp.loss_prob
        # at most one per step, Poisson only on a fine grid: run.simulate refuses rate * dt > 0.1
        changes = rng.random(n) < mp.route_change_per_hour * dt / HOUR
        route = np.cumsum(changes)
        levels = mp.asymmetry_s + mp.asymmetry_jitter_s * rng.standard_normal(int(route[-1]) + 1 if n else 1)
        lim = 0.9 * mp.min_delay_s
        self.asym = np.clip(levels, -lim, lim)[route]
        self.congestion = congestion
        # drawn last, and only for a pool: the draws above stay those of a one-server run
        self.pool = mp.servers > 1 or mp.server_delay_spread_s > 0 or mp.server_asymmetry_s > 0
        if self.pool:
            server = rng.integers(mp.servers, size=slots)
            self.srv_delay = rng.uniform(0.0, 1.0, mp.servers)[server] * mp.server_delay_spread_s
            self.srv_asym = mp.server_asymmetry_s * rng.standard_normal(mp.servers)[server]

    def measure(self, j, k, theta):
        """Measured offset and delay of exchange(s) j at grid index(es) k with
        true offset(s) theta (s). Works on arrays or on scalars."""
        mp = self.mp
        c = self.congestion[k]
        qmean = mp.queue_mean_s * (1.0 + mp.congestion_queue_gain * c)
        spike = (self.spike_u[j] < mp.spike_prob + mp.congestion_spike_prob * c) * self.spike_size[j]
        fwd = self.spike_fwd[j]
        a = self.asym[k]
        min_delay = mp.min_delay_s
        if self.pool:
            min_delay = min_delay + self.srv_delay[j]
            a = np.clip(a + self.srv_asym[j], -0.9 * min_delay, 0.9 * min_delay)
        d_f = 0.5 * min_delay + 0.5 * a + self.qf[j] * qmean + spike * fwd
        d_b = 0.5 * min_delay - 0.5 * a + self.qb[j] * qmean + spike * (1 - fwd)
        return theta + 0.5 * (d_f - d_b), d_f + d_b


def _tabulate(stream: Stream, j: np.ndarray, k: np.ndarray):
    """measure(j, k, theta) for the exchanges j at the known grid indexes k,
    precomputed as Python lists (measure is linear in theta)."""
    err, delay = stream.measure(j, k, 0.0)
    err, delay = err.tolist(), delay.tolist()
    return lambda jj, kk, theta: (theta + err[jj], delay[jj])


def _steps(interval_s: float, dt: float, n: int) -> int:
    """A poll interval in grid steps: interval_s / dt rounded, at least 1, at most n (an
    interval as long as the run or longer gives the one poll at t = 0 either way; capping
    it keeps it an int64 numpy can step by: poll_s=1e300 had raised IndexError, and
    1e300 / 1e-10 = inf OverflowError)."""
    ratio = interval_s / dt
    return n if not ratio < n else max(1, int(round(ratio)))


def max_slots(n: int, dt: float, mp: MeasurementParams) -> int:
    """Upper bound on the number of polls in n grid steps."""
    if mp.poll_mode == "fixed":
        step = _steps(mp.poll_s, dt, n)
    else:
        step = _steps(2.0 ** mp.min_poll_log2, dt, n)
    return (n + step - 1) // step + 1


def poll(x_free: np.ndarray, y_free0: float, dt: float, mp: MeasurementParams, cp, disciplined: bool,
         trace: Stream, servo: Stream | None):
    """Schedule the polls and, when disciplined, run the servo.

    Returns a dict with, per poll j (in time order): k (grid index), meas
    (measured offset, s), delay (s), lost (bool), true (true offset, s); and
    the dense correction C (s) that the servo added to the free-running time
    error (zeros when free-running), so x = x_free + C; step_k / steps: the
    grid index and size (s) of each time step the servo made (C jumps by it
    between samples step_k and step_k + 1).

    Fixed polling of a free-running clock is fully vectorised. Adaptive
    polling and the servo depend on earlier measurements, so they step
    through the polls (a loop over polls, never over grid samples).

    Servo (ntpd-like): clock filter = the lowest-delay of the last 8 servo
    samples (of equal delays the newest), used only if newer than the last
    one used; if its |offset| exceeds servo_step_threshold_s the clock is
    stepped, else a type-II PI loop slews it over the next interval T: first
    f += b theta/T, then u = f + a theta/T, with a = 1 - r^2, b = (1 - r)^2,
    r = 1 - 1/servo_time_constant_polls, |f| <= servo_max_freq_ppm; on the
    other polls u = f. Acting on every poll (exactly equal delays) that is a
    critically damped double pole at r per poll; with random delays the
    filter yields a new sample on only ~22% of polls, so the loop is slower
    and underdamped (50 ms start: 16-29 ms overshoot, not 7.7; docs/sim.md).
    It starts with f = -y(0), as a daemon that has its drift file.
    """
    n = x_free.size
    if mp.poll_mode == "fixed" and not disciplined:
        step = _steps(mp.poll_s, dt, n)
        k = np.arange(0, n, step)
        j = np.arange(k.size)
        meas, delay = trace.measure(j, k, -x_free[k])
        return {"k": k, "meas": meas, "delay": delay, "lost": trace.lost[j], "true": -x_free[k],
                "C": np.zeros(n), "step_k": np.zeros(0, dtype=np.int64), "steps": np.zeros(0)}

    adaptive = mp.poll_mode == "adaptive"
    if adaptive:
        log2 = int(min(max(round(math.log2(mp.poll_s)), mp.min_poll_log2), mp.max_poll_log2))
    fixed_step = _steps(mp.poll_s, dt, n)
    r = 1.0 - 1.0 / cp.servo_time_constant_polls
    ga, gb = 1.0 - r * r, (1.0 - r) ** 2
    fmax = cp.servo_max_freq_ppm * 1e-6
    # the servo's frequency; free-running (adaptive polling only) nothing steers the clock
    f = min(max(-y_free0, -fmax), fmax) if disciplined else 0.0
    C = 0.0
    filt: list[tuple[float, float, int]] = []  # (delay, offset, j) of the last 8 servo samples
    last_used = -1
    count = 0
    jitter = mp.queue_mean_s  # adaptive: running rms of the offset residual
    hist: list[tuple[float, float]] = []  # last two accepted (t, offset), free-running adaptive rule

    if adaptive:
        trace_at = trace.measure
        servo_at = servo.measure if disciplined else None
        x_at = x_free  # indexed by grid index
    else:
        # the poll times are known: draw every exchange's error at once (measure is theta + error)
        kf = np.arange(0, n, fixed_step)
        jf = np.arange(kf.size)
        trace_at = _tabulate(trace, jf, kf)
        servo_at = _tabulate(servo, jf, kf)
        x_at = dict(zip(kf.tolist(), x_free[kf].tolist()))  # plain floats at the poll indexes
    trace_lost = trace.lost.tolist()
    servo_lost = servo.lost.tolist() if disciplined else None

    ks, meas_l, delay_l, lost_l, true_l, c_after, u_l = [], [], [], [], [], [], []
    step_k, step_l = [], []   # servo time steps: grid index of the poll, amount (s)
    k = 0
    j = 0
    while k < n:
        theta = -(float(x_at[k]) + C)
        m, d = trace_at(j, k, theta)
        lost = trace_lost[j]
        ks.append(k)
        meas_l.append(float(m))
        delay_l.append(float(d))
        lost_l.append(lost)
        true_l.append(theta)
        off = None  # servo: filtered offset to act on this poll
        stepped = False
        resid = None
        if disciplined:
            sm, sd = servo_at(j, k, theta)
            if not servo_lost[j]:
                filt.append((float(sd), float(sm), j))
                del filt[:-8]
            if filt:
                # lowest delay; a tie goes to the newest sample (min over the tuples broke it by the
                # offset: with exactly equal delays, queue_mean_s = 0, it re-selected an old sample
                # and a 50 ms start overshot to +59 ms; an audit)
                best = min(filt, key=lambda s: (s[0], -s[2]))
                if best[2] > last_used:
                    last_used = best[2]
                    off = resid = best[1]
                    if abs(off) > cp.servo_step_threshold_s:
                        C += off  # step: x -> x + offset, about 0
                        step_k.append(k)
                        step_l.append(off)
                        filt.clear()
                        stepped = True
        elif adaptive and not lost:
            tk = k * dt
            if len(hist) == 2:
                (t0, o0), (t1, o1) = hist
                resid = float(m) - (o1 + (o1 - o0) / (t1 - t0) * (tk - t1))
            hist = (hist + [(tk, float(m))])[-2:]
        if adaptive:
            if resid is not None:
                if abs(resid) < 4.0 * jitter:
                    count += log2
                    if count > 30:
                        count = 0
                        log2 = min(log2 + 1, mp.max_poll_log2)
                else:
                    count -= 2 * log2
                    if count < -30:
                        count = 0
                        log2 = max(log2 - 1, mp.min_poll_log2)
                jitter = math.sqrt(jitter * jitter + (resid * resid - jitter * jitter) / 4.0)
            steps = _steps(2.0 ** log2, dt, n)
        else:
            steps = fixed_step
        T = steps * dt
        u = f
        if off is not None and not stepped:
            f = min(max(f + gb * off / T, -fmax), fmax)
            u = f + ga * off / T
        c_after.append(C)
        u_l.append(u)
        C += u * T
        k += steps
        j += 1

    kk = np.asarray(ks, dtype=np.int64)
    dense = np.zeros(n)
    if disciplined:
        # C(k) = C_after[j] + u[j] (k - k_j) dt for k_j < k <= k_{j+1}
        idx = np.arange(1, n)
        seg = np.searchsorted(kk, idx, side="left") - 1
        ca = np.asarray(c_after)
        uu = np.asarray(u_l)
        dense[1:] = ca[seg] + uu[seg] * (idx - kk[seg]) * dt
    return {"k": kk, "meas": np.asarray(meas_l), "delay": np.asarray(delay_l),
            "lost": np.asarray(lost_l, dtype=bool), "true": np.asarray(true_l), "C": dense,
            "step_k": np.asarray(step_k, dtype=np.int64), "steps": np.asarray(step_l, dtype=np.float64)}
