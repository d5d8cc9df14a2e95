"""Defects found by probing the C++ core's bindings directly: crashes, wrong
values and unclear errors on bad input. Crash cases run in a subprocess."""
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from chronotick import _core as C


def _run(code: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter (a segfault is rc -11 there, not here)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [os.path.dirname(os.path.dirname(C.__file__)),
                                                    env.get("PYTHONPATH")] if p)
    return subprocess.run([sys.executable, "-c", "from chronotick import _core as C\nimport numpy as np\n" +
                           textwrap.dedent(code)], capture_output=True, text=True, timeout=60, env=env)


# ---- 1. make_windows / make_window: context too large -------------------------------------

def test_make_windows_refuses_a_context_whose_batch_product_overflows():
    r = _run("""
        t = np.arange(5.0); y = np.zeros(5)
        try:
            C.make_windows([t] * 4, [y] * 4, 2.0, 1.0, 2**62)
        except ValueError as e:
            print("ValueError", e)
    """)
    assert r.returncode == 0, r.stderr
    assert "ValueError" in r.stdout and "context" in r.stdout and "too large" in r.stdout


def test_make_window_says_the_context_is_too_large():
    t = np.arange(5.0)
    with pytest.raises(ValueError, match=r"context = 4611686018427387904 is too large"):
        C.make_window(t, np.zeros(5), 2.0, 1.0, 2**62)


# ---- 2./3. QuantileForecast: implied sigma, crossed quantiles, fusion ----------------------

def _qf(name, q, levels=(0.25, 0.5, 0.75), mean=1.0):
    q = np.atleast_2d(np.asarray(q, float))
    return C.QuantileForecast(name, np.array([10.0]), np.array(levels, float), np.array([mean]), q)


def test_quantile_forecast_std_is_the_implied_sigma_without_the_10_90_levels():
    z = 0.6744897501960817
    f = _qf("a", [1 - 10 * z, 1.0, 1 + 10 * z])
    assert f.ok and f.std[0] == pytest.approx(10.0, rel=1e-9)


def test_a_member_without_the_10_90_levels_does_not_take_all_the_fusion_weight():
    z = 0.6744897501960817
    wide = _qf("wide", [1 - 10 * z, 1.0, 1 + 10 * z])
    narrow = _qf("narrow", [1 - 5 * z, 1.0, 1 + 5 * z])
    fused = C.fuse([wide, narrow])
    w = dict(zip(fused.member_names, np.asarray(fused.weights).reshape(2, -1)[:, 0]))
    assert w["wide"] == pytest.approx(0.2) and w["narrow"] == pytest.approx(0.8)


def test_quantile_forecast_refuses_crossed_quantiles_naming_the_target():
    q = np.array([[-1.0, 0.0, 1.0], [1.0, 0.0, -1.0]])
    with pytest.raises(ValueError, match="quantiles at target 1 decrease with the level"):
        C.QuantileForecast("x", np.array([1.0, 2.0]), np.array([0.1, 0.5, 0.9]), np.zeros(2), q)


@pytest.mark.parametrize("levels", [(0.5, 0.25, 0.75), (0.0, 0.5, 0.9), (0.1, 0.5, 1.0), (0.1, 0.1, 0.9),
                                    (0.1, float("nan"), 0.9)])
def test_quantile_forecast_refuses_levels_not_strictly_increasing_in_0_1(levels):
    with pytest.raises(ValueError, match=r"levels must be strictly increasing in \(0, 1\): levels\[\d\]"):
        _qf("x", [-1.0, 0.0, 1.0], levels)


# ---- 4. conformal_factors: non-finite values, bad levels -----------------------------------

def _conformal_args():
    y = np.array([0.5, -0.3, 1.2])
    q = np.tile([-1.0, 0.0, 1.0], (3, 1))
    return y, q, np.array([0.1, 0.5, 0.9])


def test_conformal_factors_refuses_non_finite_y_naming_the_index():
    y, q, lv = _conformal_args()
    y[1] = np.nan
    with pytest.raises(ValueError, match=r"y\[1\] = nan is not finite"):
        C.conformal_factors(y, q, lv, 1, np.array([0.8]))


def test_conformal_factors_refuses_non_finite_quantiles_naming_the_index():
    y, q, lv = _conformal_args()
    q[2, 0] = -np.inf
    with pytest.raises(ValueError, match=r"q\[2, 0\] = -inf is not finite"):
        C.conformal_factors(y, q, lv, 1, np.array([0.8]))


@pytest.mark.parametrize("levels", [[0.5, 0.1, 0.9], [0.0, 0.5, 0.9], [0.1, 0.5, 1.5], [0.1, 0.5, 0.5]])
def test_conformal_factors_refuses_bad_levels(levels):
    y, q, _ = _conformal_args()
    with pytest.raises(ValueError, match=r"levels must be strictly increasing in \(0, 1\)"):
        C.conformal_factors(y, q, np.array(levels), 1, np.array([0.8]))


def test_conformal_factors_still_works_on_good_input():
    y, q, lv = _conformal_args()
    f = C.conformal_factors(y, q, lv, 1, np.array([0.0, 0.5]))
    assert f[0] == 1.0 and np.isfinite(f[1]) and f[1] > 0


# ---- 5. clock: offsets and local times beyond 2**62 ----------------------------------------

def test_clock_state_refuses_an_offset_beyond_2_62():
    st = C.ClockState()
    now = time.time_ns()
    with pytest.raises(ValueError, match=r"offset_ns must be within \+-2\*\*62"):
        st.publish(now, 2**63 - 2, 0.0, 1000, 0.0, C.CLOCK_SYNCHRONIZED)
    with pytest.raises(ValueError, match=r"offset_ns must be within \+-2\*\*62"):
        st.publish(now, -(2**62) - 1, 0.0, 1000, 0.0, C.CLOCK_SYNCHRONIZED)
    assert st.now().status == C.CLOCK_UNKNOWN        # nothing was published


def test_clock_publisher_refuses_an_offset_beyond_2_62(tmp_path):
    with C.ClockPublisher(str(tmp_path / "clk"), 10.0, 5e-4) as pub:
        with pytest.raises(ValueError, match=r"offset_ns must be within \+-2\*\*62"):
            pub.publish(time.time_ns(), 2**63 - 2, 0.0, 1000, 0.0, C.CLOCK_SYNCHRONIZED)
        assert pub.publishes == 0


@pytest.mark.parametrize("ref", [0, -5, 2**62 + 1, 2**63 - 1])
def test_clock_state_refuses_a_reference_time_out_of_range(ref):
    with pytest.raises(ValueError, match=r"ref_local_ns must be in \(0, 2\*\*62\]"):
        C.ClockState().publish(ref, 0, 0.0, 1000, 0.0, C.CLOCK_SYNCHRONIZED)


@pytest.mark.parametrize("t", [-2**62 - 1, 2**62 + 1, 2**63 - 1, -2**63])
def test_now_at_refuses_local_times_out_of_range(t):
    st = C.ClockState()
    st.publish(time.time_ns(), 1000, 0.0, 1000, 0.0, C.CLOCK_SYNCHRONIZED)
    with pytest.raises(ValueError, match=r"local_ns must be within \+-2\*\*62"):
        st.now_at(t)
    st.now_at(0)            # a simulated time base may start at 0: read, not refused


def test_the_time_at_the_extremes_never_wraps_around_int64():
    st = C.ClockState()
    with pytest.raises(ValueError, match="beyond int64"):       # 2**62 + 2**62 = 2**63
        st.publish_at(2**62, 2**62, 2**62, 0.0, 1000, 0.0, C.CLOCK_SYNCHRONIZED)
    st.publish_at(2**61, 2**61, 2**62, 0.0, 1000, 0.0, C.CLOCK_SYNCHRONIZED)
    b = st.now_at(2**61 + 10)
    assert b.status == C.CLOCK_SYNCHRONIZED and b.time_ns == 2**61 + 2**62 + 10
    assert b.earliest_ns < b.time_ns <= b.latest_ns
    with pytest.raises(ValueError, match="beyond int64"):       # 2**62 + 2**62 again, read this time
        st.now_at(2**62)


def test_publish_at_refuses_now_beyond_2_62():
    with pytest.raises(ValueError, match=r"now_ns must be in \(0, 2\*\*62\]"):
        C.ClockState().publish_at(2**62 + 1, 10, 0, 0.0, 1000, 0.0, C.CLOCK_SYNCHRONIZED)


# ---- 6. make_window / nearest_window: non-finite values marked observed --------------------

def test_make_window_refuses_values_beyond_float32():
    with pytest.raises(ValueError, match=r"grid point 1 \(y - level = 5e\+299, level 0\.0\) is not finite in float32"):
        C.make_window(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1e300, 0.0]), 2.0, 0.5, 5)


def test_make_window_refuses_values_whose_difference_overflows():
    with pytest.raises(ValueError, match="not finite in float32"):
        C.make_window(np.array([0.0, 1.0, 2.0]), np.array([-1e308, 1e308, 0.0]), 2.0, 0.5, 5)


def test_make_window_refuses_a_time_span_that_is_not_finite():
    with pytest.raises(ValueError, match="time span .* is not finite"):
        C.make_window(np.array([-1e308, 1e308]), np.array([0.0, 1.0]), 1e308, 1e307, 4)
    with pytest.raises(ValueError, match="grid span .* is not finite"):
        C.make_window(np.arange(40.0), np.zeros(40), 39.0, 1e308, 4)


def test_make_windows_names_the_series_with_values_beyond_float32():
    t = np.array([0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="series 1: .*not finite in float32"):
        C.make_windows([t, t], [np.zeros(3), np.array([0.0, 1e300, 0.0])], 2.0, 0.5, 5)


@pytest.mark.parametrize("level", [np.inf, -np.inf, np.nan])
def test_nearest_window_refuses_a_non_finite_level(level):
    with pytest.raises(ValueError, match="level must be finite"):
        C.nearest_window(np.arange(5.0), np.zeros(5), 4.0, 1.0, 5, level)


def test_nearest_window_refuses_values_beyond_float32():
    with pytest.raises(ValueError, match=r"grid point 3 .*not finite in float32"):
        C.nearest_window(np.arange(5.0), np.array([0, 0, 0, 1e300, 0.0]), 4.0, 1.0, 5)


def test_window_values_stay_finite_where_observed():
    t = np.arange(10.0)
    w = C.make_window(t, np.sin(t) * 1e-3, 9.0, 0.5, 16)
    assert np.all(np.isfinite(w.values[w.mask]))


# ---- 7. forecast_window: the step is checked first -----------------------------------------

@pytest.mark.parametrize("step", [0.0, -1.0, np.inf])
def test_forecast_window_blames_a_bad_step_not_the_target(step):
    t = np.arange(10.0)
    out = np.empty(8, np.float32)
    with pytest.raises(ValueError, match=r"step_s must be > 0 \(or NaN for the median spacing\), got"):
        C.forecast_window(out, t, np.zeros(10), np.array([12.0]), step, 4, "m")


def test_forecast_window_nan_step_is_the_median_spacing():
    t = np.arange(10.0)
    out = np.empty(8, np.float32)
    level, step, h, slope = C.forecast_window(out, t, np.zeros(10), np.array([12.0]), np.nan, 4, "m")
    assert step == 1.0 and h[0] == 3.0


# ---- 8. ClockPublisher with a bad max_slew_rate leaves nothing behind -----------------------

@pytest.mark.parametrize("rate", [1.0, 0.0, -1e-3, float("nan")])
def test_clock_publisher_with_a_bad_slew_rate_leaves_the_path_free(tmp_path, rate):
    path = str(tmp_path / "clk")
    with pytest.raises(ValueError, match=r"max_slew_rate must be in \(0, 0.5\]"):
        C.ClockPublisher(path, 10.0, rate)
    assert not os.path.exists(path) and os.listdir(tmp_path) == []
    with C.ClockPublisher(path, 10.0, 5e-4) as pub:       # not EBUSY: no leaked lock
        pub.publish(time.time_ns(), 0, 0.0, 1000, 0.0, C.CLOCK_SYNCHRONIZED)
    assert os.listdir(tmp_path) == ["clk"]


def test_clock_state_with_a_bad_slew_rate_is_refused():
    with pytest.raises(ValueError, match=r"max_slew_rate must be in \(0, 0.5\]"):
        C.ClockState(10.0, 10.0)


def test_clock_publisher_releases_its_fd_when_set_up_fails(tmp_path):
    # Many failed attempts in one process: no fd leak (each would hold a flock).
    path = str(tmp_path / "clk")
    fds = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        with pytest.raises(ValueError):
            C.ClockPublisher(path, 10.0, 1.0)
    assert len(os.listdir("/proc/self/fd")) <= fds + 1


# ---- 9. window_step: t must be finite and strictly increasing ------------------------------

def test_window_step_refuses_non_finite_t_naming_the_index():
    with pytest.raises(ValueError, match=r"t\[2\] = nan is not finite"):
        C.window_step(np.array([0.0, 1.0, np.nan, 3.0, 4.0]))


def test_window_step_refuses_decreasing_t_naming_the_index():
    with pytest.raises(ValueError, match=r"t must be strictly increasing: t\[1\] = 3.0 after t\[0\] = 4.0"):
        C.window_step(np.arange(5.0)[::-1])


def test_window_step_of_good_times():
    assert C.window_step(np.arange(5.0) * 2.0) == 2.0


# ---- 10. objects made with __new__ only ----------------------------------------------------

@pytest.mark.parametrize("calls", ["b.capacity; b.push(1.0, 2.0)", "b.push(1.0, 2.0)"])
def test_uninitialised_measurement_buffer_push_raises_type_error(calls):
    r = _run(f"""
        b = C.MeasurementBuffer.__new__(C.MeasurementBuffer)
        try:
            {calls}
        except TypeError as e:
            print("TypeError", e)
    """)
    assert r.returncode == 0, r.stderr
    assert "TypeError" in r.stdout


@pytest.mark.parametrize("cls", ["ClockState", "ClockReader"])
def test_uninitialised_clock_now_raises_type_error(cls):
    # now/now_ns are the fast METH_NOARGS paths (bind_clock.cpp self_ptr).
    r = _run(f"""
        b = C.{cls}.__new__(C.{cls})
        for call in (b.now, b.now_ns, b.now, b.now_ns):
            try:
                call()
            except TypeError as e:
                print("TypeError", e)
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("TypeError") == 4


def test_push_takes_none_as_unknown_uncertainty_and_names_a_too_large_int():
    b = C.MeasurementBuffer(4)
    b.push(1.0, 2.0, None)                  # as push_many's uncertainty=None: NaN
    b.push(2.0, 3.0, uncertainty=None)
    assert np.isnan(b.snapshot()[2]).all()
    with pytest.raises(OverflowError, match=r"push\(\): t = 1000.* is too large for a float64"):
        b.push(10**400, 0.0)
    with pytest.raises(TypeError, match=r"push\(\): offset must be a real number, got str"):
        b.push(1.0, "x")
