// Python bindings of the classical models and fusion. Thin: argument checks
// and conversions only; the logic is in cpp/models and cpp/fusion.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>

#include "bindings/bindings.h"
#include "fusion/ensemble.h"
#include "fusion/forecast_checks.h"
#include "fusion/fusion.h"
#include "models/calibration.h"
#include "models/classical.h"
#include "models/delay_noise.h"
#include "models/regression.h"
#include "windowing/float_repr.h"
#include "windowing/nearest_window.h"

namespace py = pybind11;

namespace chronotick::bindings {
namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

Array to_numpy(const std::vector<double>& v) { return Array(static_cast<py::ssize_t>(v.size()), v.data()); }

std::vector<double> to_vector(const Array& a, const char* name) {
  if (a.ndim() != 1) throw py::value_error(std::string(name) + " must be 1-D, got " + std::to_string(a.ndim()) + "-D");
  return std::vector<double>(a.data(), a.data() + a.size());
}

struct Inputs {
  std::vector<double> t, y, u, targets, levels;
  bool has_u = false;
  Series series() const { return Series{t.data(), y.data(), has_u ? u.data() : nullptr, t.size()}; }
};

Inputs check_inputs(const Array& t, const Array& y, const std::optional<Array>& u, const Array& targets,
                    const Array& levels) {
  Inputs in;
  in.t = to_vector(t, "t");
  in.y = to_vector(y, "y");
  in.targets = to_vector(targets, "target_times");
  in.levels = to_vector(levels, "levels");
  if (in.t.size() != in.y.size())
    throw py::value_error("t and y differ in length: " + std::to_string(in.t.size()) + " vs " + std::to_string(in.y.size()));
  if (in.t.empty()) throw py::value_error("t is empty: at least one measurement is needed");
  for (std::size_t i = 0; i < in.t.size(); ++i) {
    if (!std::isfinite(in.t[i])) throw py::value_error("t[" + std::to_string(i) + "] is not finite");
    if (!std::isfinite(in.y[i])) throw py::value_error("y[" + std::to_string(i) + "] is not finite");
    if (i && !(in.t[i] > in.t[i - 1])) throw py::value_error("t must be strictly increasing at index " + std::to_string(i));
  }
  if (u) {
    in.u = to_vector(*u, "u");
    in.has_u = true;
    if (in.u.size() != in.t.size()) throw py::value_error("u and t differ in length");
    for (std::size_t i = 0; i < in.u.size(); ++i)
      if (in.u[i] < 0) throw py::value_error("u[" + std::to_string(i) + "] is negative");
  }
  if (in.targets.empty()) throw py::value_error("target_times is empty");
  for (std::size_t k = 0; k < in.targets.size(); ++k)
    if (!std::isfinite(in.targets[k])) throw py::value_error("target_times[" + std::to_string(k) + "] is not finite");
  if (in.levels.empty()) throw py::value_error("levels is empty");
  for (std::size_t l = 0; l < in.levels.size(); ++l) {
    if (!(in.levels[l] > 0 && in.levels[l] < 1)) throw py::value_error("levels[" + std::to_string(l) + "] not in (0, 1)");
    // as the Python API's limit (_validate.MIN_TAIL): nearer 0 or 1, |2 level - 1| rounds to 1 and
    // the normal quantile is infinite (forecasts with -inf quantiles had read ok; an audit, 2026-12-05)
    if (!(in.levels[l] >= 1e-6 && in.levels[l] <= 1 - 1e-6))
      throw py::value_error("levels[" + std::to_string(l) + "] = " + float_repr(in.levels[l]) +
                            " is beyond [1e-6, 1 - 1e-6], the most extreme levels calibrated (as the Python API's)");
    if (l && !(in.levels[l] > in.levels[l - 1])) throw py::value_error("levels must be strictly increasing");
  }
  return in;
}

Model parse_model(const std::string& name) {
  Model m;
  if (!model_from_name(name, m)) {
    std::string valid;
    for (const auto& n : classical_names()) valid += (valid.empty() ? "" : ", ") + n;
    throw py::value_error("unknown classical model '" + name + "'; valid: " + valid);
  }
  return m;
}

using IndexArray = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

// One `extra` entry of forecast_fused (see its docstring), checked.
ExternalMember external_member(const py::tuple& tup, std::size_t e, const Inputs& in) {
  const std::string at = "extra[" + std::to_string(e) + "]";
  if (tup.size() != 3 && tup.size() != 5)
    throw py::value_error(at + ": expected (forecast, past_mean, past_sigma) or (forecast, prefix, target, "
                          "past_mean, past_sigma), got a tuple of " + std::to_string(tup.size()));
  ExternalMember x;
  x.forecast = tup[0].cast<QuantileForecast>();
  const std::string who = at + " (" + x.forecast.model + ")";
  if (x.forecast.times != in.targets || x.forecast.levels != in.levels)
    throw py::value_error(who + ": forecast at other target_times or levels than the ensemble's");
  const std::size_t n = in.t.size();
  auto check_sigma = [&](double mu, double sd, std::size_t j) {
    if (std::isfinite(mu) && !(sd > 0 && std::isfinite(sd)))
      throw py::value_error(who + ": past_sigma[" + std::to_string(j) + "] = " + std::to_string(sd) +
                            " where past_mean is given (must be > 0)");
  };
  if (tup.size() == 3) {
    if (tup[1].is_none() != tup[2].is_none())
      throw py::value_error(who + ": give both past_mean and past_sigma, or neither");
    if (tup[1].is_none()) return x;
    std::vector<double> pm = to_vector(tup[1].cast<Array>(), "past_mean");
    std::vector<double> ps = to_vector(tup[2].cast<Array>(), "past_sigma");
    if (pm.size() != n || ps.size() != n)
      throw py::value_error(who + ": past_mean and past_sigma must have one entry per measurement (" +
                            std::to_string(n) + "), got " + std::to_string(pm.size()) + " and " +
                            std::to_string(ps.size()));
    for (std::size_t j = 0; j < n; ++j) {
      check_sigma(pm[j], ps[j], j);
      if (std::isfinite(pm[j])) x.past.push_back({j, j, pm[j], ps[j]});  // one step ahead: y[j] from [0, j)
    }
    return x;
  }
  IndexArray pre = tup[1].cast<IndexArray>(), tgt = tup[2].cast<IndexArray>();
  std::vector<double> pm = to_vector(tup[3].cast<Array>(), "past_mean");
  std::vector<double> ps = to_vector(tup[4].cast<Array>(), "past_sigma");
  const std::size_t np = static_cast<std::size_t>(pre.size());
  if (pre.ndim() != 1 || tgt.ndim() != 1 || static_cast<std::size_t>(tgt.size()) != np || pm.size() != np ||
      ps.size() != np)
    throw py::value_error(who + ": prefix, target, past_mean and past_sigma must be 1-D of one length, got " +
                          std::to_string(pre.size()) + ", " + std::to_string(tgt.size()) + ", " +
                          std::to_string(pm.size()) + ", " + std::to_string(ps.size()));
  for (std::size_t k = 0; k < np; ++k) {
    const int64_t i = pre.at(static_cast<py::ssize_t>(k)), j = tgt.at(static_cast<py::ssize_t>(k));
    if (i < 1 || j < i || j >= static_cast<int64_t>(n))
      throw py::value_error(who + ": pair " + std::to_string(k) + " (prefix " + std::to_string(i) + ", target " +
                            std::to_string(j) + ") must have 1 <= prefix <= target < len(t) = " + std::to_string(n));
    check_sigma(pm[k], ps[k], k);
    if (std::isfinite(pm[k]))
      x.past.push_back({static_cast<std::size_t>(i), static_cast<std::size_t>(j), pm[k], ps[k]});
  }
  return x;
}

}  // namespace

void bind_models(py::module_& m) {
  m.attr("MODEL_NAMES") = classical_names();
  m.attr("DEFAULT_ENSEMBLE") = default_ensemble();

  py::class_<ModelParams>(m, "ModelParams", "Tunables of the classical forecasters (see cpp/models/params.h).")
      .def(py::init<>())
      .def_readwrite("hold_window", &ModelParams::hold_window)
      .def_readwrite("robust_window", &ModelParams::robust_window)
      .def_readwrite("regression_max", &ModelParams::regression_max)
      .def_readwrite("regression_min", &ModelParams::regression_min)
      .def_readwrite("huber_k", &ModelParams::huber_k)
      .def_readwrite("tempcomp_window", &ModelParams::tempcomp_window)
      .def_readwrite("kalman_window", &ModelParams::kalman_window)
      .def_readwrite("min_history", &ModelParams::min_history)
      .def_readwrite("calib_origins", &ModelParams::calib_origins)
      .def_readwrite("calib_min", &ModelParams::calib_min)
      .def_readwrite("calib_spread", &ModelParams::calib_spread)
      .def_readwrite("kalman_live_pairs", &ModelParams::kalman_live_pairs,
                     "Opt-in: the Kalman filter's past forecasts made as its live one (calibrated long-lead "
                     "intervals, ~2-3x the forecast time; docs/models.md)")
      .def_property(
          "growth_min", [](const ModelParams& p) { return p.growth_min; },
          [](ModelParams& p, double v) {
            if (!(v >= 0.0 && v <= 2.0))
              throw py::value_error("growth_min must be in [0, 2], got " + std::to_string(v));
            p.growth_min = v;
          },
          "Least exponent of the error growth beyond the longest calibrated lead (cpp/models/params.h).");

  py::class_<QuantileForecast>(m, "QuantileForecast", "One forecaster's quantiles at absolute times (s).")
      .def(py::init([](std::string model, const Array& times, const Array& levels, const Array& mean,
                       const Array& quantiles, bool partial, const std::string& note) {
             QuantileForecast f;
             f.model = std::move(model);
             f.times = to_vector(times, "times");
             f.levels = to_vector(levels, "levels");
             f.mean = to_vector(mean, "mean");
             const std::size_t h = f.times.size(), L = f.levels.size();
             if (quantiles.ndim() != 2 || quantiles.shape(0) != static_cast<py::ssize_t>(h) ||
                 quantiles.shape(1) != static_cast<py::ssize_t>(L))
               throw py::value_error("quantiles must have shape (len(times), len(levels)) = (" + std::to_string(h) +
                                     ", " + std::to_string(L) + ")");
             f.quantiles.assign(quantiles.data(), quantiles.data() + quantiles.size());
             finish_forecast(f, partial, note);  // fusion/forecast_checks.h: the checks, std, ok, note
             return f;
           }),
           py::arg("model"), py::arg("times"), py::arg("levels"), py::arg("mean"), py::arg("quantiles"),
           py::arg("partial") = false, py::arg("note") = std::string(),
           "partial: rows all NaN are targets the forecaster does not reach (fused there with weight 0); "
           "otherwise any non-finite value makes it not ok. note: how it was made (appended to the note "
           "the checks leave).")
      .def_readonly("model", &QuantileForecast::model)
      .def_readonly("ok", &QuantileForecast::ok)
      .def_readonly("note", &QuantileForecast::note)
      .def_property_readonly("times", [](const QuantileForecast& f) { return to_numpy(f.times); })
      .def_property_readonly("levels", [](const QuantileForecast& f) { return to_numpy(f.levels); })
      .def_property_readonly("mean", [](const QuantileForecast& f) { return to_numpy(f.mean); })
      .def_property_readonly("std", [](const QuantileForecast& f) { return to_numpy(f.std); })
      .def_property_readonly("recent_mae", [](const QuantileForecast& f) { return to_numpy(f.recent_mae); },
                             "Per step: mean absolute error of recent past forecasts at about that lead (NaN: unknown).")
      .def_property_readonly("quantiles", [](const QuantileForecast& f) {
        Array a = to_numpy(f.quantiles);
        a.resize({static_cast<py::ssize_t>(f.quantiles.empty() ? 0 : f.times.size()),
                  static_cast<py::ssize_t>(f.levels.size())});
        return a;
      })
      .def("__repr__", [](const QuantileForecast& f) {
        return "<QuantileForecast " + f.model + " steps=" + std::to_string(f.times.size()) +
               (f.ok ? "" : " FAILED: " + f.note) + ">";
      });

  py::class_<FusedForecast>(m, "FusedForecast",
                            "A fusion of member forecasts (weights 1/recent MAE^2, else 1/sigma^2).")
      .def_readonly("forecast", &FusedForecast::forecast)
      .def_readonly("members", &FusedForecast::members)
      .def_readonly("member_names", &FusedForecast::member_names)
      .def_property_readonly("weights", [](const FusedForecast& f) {
        Array a = to_numpy(f.weights);
        py::ssize_t m = static_cast<py::ssize_t>(f.member_names.size());
        a.resize({m, m ? static_cast<py::ssize_t>(f.weights.size()) / m : 0});
        return a;
      });

  m.def("forecast",
        [](const std::string& model, const Array& t, const Array& y, const std::optional<Array>& u,
           const Array& target_times, const Array& levels, const ModelParams& params) {
          Model which = parse_model(model);
          Inputs in = check_inputs(t, y, u, target_times, levels);
          py::gil_scoped_release release;
          return forecast_model(which, in.series(), in.targets.data(), in.targets.size(), in.levels.data(),
                                in.levels.size(), params);
        },
        py::arg("model"), py::arg("t"), py::arg("y"), py::arg("u"), py::arg("target_times"), py::arg("levels"),
        py::arg("params") = ModelParams{},
        "One classical model's calibrated quantile forecast of the measurement at each target time.");

  m.def("forecast_fused",
        [](const std::vector<std::string>& models, const Array& t, const Array& y, const std::optional<Array>& u,
           const Array& target_times, const Array& levels, const ModelParams& params,
           const std::vector<py::tuple>& extra) {
          if (models.empty()) throw py::value_error("models is empty");
          std::vector<Model> which;
          for (const auto& n : models) which.push_back(parse_model(n));
          Inputs in = check_inputs(t, y, u, target_times, levels);
          std::vector<ExternalMember> ext;
          for (std::size_t e = 0; e < extra.size(); ++e) ext.push_back(external_member(extra[e], e, in));
          py::gil_scoped_release release;
          return forecast_fused(which, in.series(), in.targets.data(), in.targets.size(), in.levels.data(),
                                in.levels.size(), params, ext);
        },
        py::arg("models"), py::arg("t"), py::arg("y"), py::arg("u"), py::arg("target_times"), py::arg("levels"),
        py::arg("params") = ModelParams{}, py::arg("extra") = std::vector<py::tuple>{},
        "The calibrated fusion of the named classical models, plus `extra` members from outside the core, each "
        "(QuantileForecast at the same targets/levels, prefix, target, past_mean, past_sigma): its past "
        "predictions of y[target] from the measurements [0, prefix) at the pairs calibration_pairs lists; or "
        "(forecast, past_mean, past_sigma) with one-step predictions of each measurement (size len(t), NaN where "
        "none); or (forecast, None, None). See cpp/fusion/ensemble.h.");

  // models/calibration.h: the factor a calibrated quantile's distance from the mean is scaled by
  // (its ends rounded outward); the ONNX member's calibration uses the same
  m.attr("CALIBRATED_OUTWARD") = kOutward;

  m.def(
      "grown_offsets",
      [](const Array& abs_err, double mae_half, const Array& ratio, const Array& levels, double growth_min) {
        std::vector<double> e = to_vector(abs_err, "abs_err");
        std::vector<double> lv = to_vector(levels, "levels");
        for (double v : e)
          if (!(v >= 0)) throw py::value_error("abs_err must be finite and >= 0, got " + std::to_string(v));
        if (ratio.ndim() > 1) throw py::value_error("ratio must be a number or a 1-D array");
        const std::size_t nr = static_cast<std::size_t>(ratio.size());
        const double* r = ratio.data();
        for (std::size_t i = 0; i < nr; ++i)
          if (!(r[i] >= 1) || !std::isfinite(r[i])) throw py::value_error("ratio must be >= 1, got " + std::to_string(r[i]));
        // as ModelParams.growth_min and the forecasts' levels (NaN / out-of-range ones had given NaN and inf
        // offsets without a word; an audit, 2026-12-05)
        if (!(growth_min >= 0 && growth_min <= 2)) throw py::value_error("growth_min must be in [0, 2], got " + float_repr(growth_min));
        if (std::isnan(mae_half)) throw py::value_error("mae_half must not be NaN");
        try {
          check_levels(lv.data(), lv.size());
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
        const double mae = e.empty() ? 0.0 : std::accumulate(e.begin(), e.end(), 0.0) / static_cast<double>(e.size());
        const double a = growth_exponent(mae, mae_half, growth_min);
        std::sort(e.begin(), e.end());
        py::array_t<double> out = ratio.ndim() == 0
            ? py::array_t<double>(static_cast<py::ssize_t>(lv.size()))
            : py::array_t<double>({static_cast<py::ssize_t>(nr), static_cast<py::ssize_t>(lv.size())});
        double* o = out.mutable_data();
        for (std::size_t i = 0; i < nr; ++i)
          for (std::size_t l = 0; l < lv.size(); ++l) o[i * lv.size() + l] = grown_offset(e, lv[l], r[i], a);
        return out;
      },
      py::arg("abs_err"), py::arg("mae_half"), py::arg("ratio"), py::arg("levels"), py::arg("growth_min"),
      "Signed offsets from the mean, per level, of a lead `ratio` times the lead D whose absolute errors are\n"
      "abs_err: their conformal quantile grown as ratio^a, a = log2(mean(abs_err) / mae_half) in [growth_min, 2]\n"
      "(growth_min when mae_half <= 0). The rule of cpp/models/calibration.h, for the ONNX forecaster.\n"
      "ratio: a number (result [levels]) or a 1-D array, one per target (result [ratio, levels]).");

  m.def("calibration_pairs",
        [](const Array& t, const Array& target_times, const ModelParams& params) {
          Inputs in = check_inputs(t, t, std::nullopt, target_times, Array(1, std::vector<double>{0.5}.data()));
          std::vector<PastPrediction> pairs = calibration_pairs(in.series(), in.targets.data(), in.targets.size(),
                                                                params);
          IndexArray prefix(static_cast<py::ssize_t>(pairs.size())), target(static_cast<py::ssize_t>(pairs.size()));
          auto pp = prefix.mutable_unchecked<1>();
          auto tt = target.mutable_unchecked<1>();
          for (std::size_t k = 0; k < pairs.size(); ++k) {
            pp(static_cast<py::ssize_t>(k)) = static_cast<int64_t>(pairs[k].prefix);
            tt(static_cast<py::ssize_t>(k)) = static_cast<int64_t>(pairs[k].target);
          }
          return py::make_tuple(prefix, target);
        },
        py::arg("t"), py::arg("target_times"), py::arg("params") = ModelParams{},
        "(prefix, target): int64 arrays of the pairs whose errors calibrate forecast_fused at target_times from "
        "measurements at t -- predict y[target] from the measurements [0, prefix) -- so an external member can "
        "give its past predictions at exactly these (see forecast_fused's extra).");

  m.def("forecast_tempcomp",
        [](const Array& t, const Array& y, const std::optional<Array>& u, const Array& temperature,
           const Array& target_times, const Array& levels, const ModelParams& params) {
          Inputs in = check_inputs(t, y, u, target_times, levels);
          std::vector<double> temp = to_vector(temperature, "temperature");
          if (temp.size() != in.t.size())
            throw py::value_error("temperature and t differ in length: " + std::to_string(temp.size()) + " vs " +
                                  std::to_string(in.t.size()));
          for (std::size_t i = 0; i < temp.size(); ++i)
            if (!std::isfinite(temp[i])) throw py::value_error("temperature[" + std::to_string(i) + "] is not finite");
          py::gil_scoped_release release;
          return forecast_tempcomp(in.series(), temp.data(), in.targets.data(), in.targets.size(), in.levels.data(),
                                   in.levels.size(), params);
        },
        py::arg("t"), py::arg("y"), py::arg("u"), py::arg("temperature"), py::arg("target_times"), py::arg("levels"),
        py::arg("params") = ModelParams{},
        "regression with a fitted temperature term (chrony tempcomp-style): frequency = f0 + k (T - T0).");

  m.def("fuse",
        [](const std::vector<QuantileForecast>& members) {
          try {
            return fuse(members);
          } catch (const std::invalid_argument& e) {
            throw py::value_error(e.what());
          }
        },
        py::arg("members"), "Fuse quantile forecasts made at the same times and levels.");

  m.def("scan_series",
        [](const py::array& t, const py::array& y) -> long {
          // Fast path of predict's validation: -1 unless both are 1-D float64,
          // contiguous, equal length, t finite and strictly increasing and y
          // without inf; else the number of NaN in y. The detailed (slow)
          // checks run only on -1, to name the offending argument and index.
          auto ok = [](const py::array& a) {
            return a.ndim() == 1 && a.dtype().is(py::dtype::of<double>()) &&
                   (a.flags() & py::array::c_style) != 0;
          };
          if (!ok(t) || !ok(y) || t.size() != y.size()) return -1;
          const double* tp = static_cast<const double*>(t.data());
          const double* yp = static_cast<const double*>(y.data());
          const py::ssize_t n = t.size();
          long nan = 0;
          for (py::ssize_t i = 0; i < n; ++i) {
            if (!std::isfinite(tp[i]) || (i && !(tp[i] > tp[i - 1])) || std::isinf(yp[i])) return -1;
            nan += std::isnan(yp[i]);
          }
          return nan;
        },
        py::arg("t"), py::arg("y"));

  m.def("median_spacing",
        [](const Array& t) {
          std::vector<double> v = to_vector(t, "t");
          return v.size() < 2 ? 1.0 : median_spacing(v.data(), v.size());
        },
        py::arg("t"), "Median spacing of the newest (up to 65) times; 1.0 for fewer than 2.");

  m.def("delay_noise",
        [](const Array& y, const Array& d) -> py::tuple {
          if (y.ndim() != 1 || d.ndim() != 1 || y.size() != d.size())
            throw py::value_error("delay_noise: y and d must be 1-D of the same length");
          const double* yp = y.data();
          const double* dp = d.data();
          for (py::ssize_t i = 0; i < y.size(); ++i) {
            if (!std::isfinite(yp[i]))
              throw py::value_error("delay_noise: y[" + std::to_string(i) + "] = " + float_repr(yp[i]) +
                                    " is not finite");
            if (!std::isfinite(dp[i]) || dp[i] < 0)
              throw py::value_error("delay_noise: d[" + std::to_string(i) + "] = " + float_repr(dp[i]) +
                                    " is not a finite delay >= 0");
          }
          Array sigma(y.size());
          DelayNoise fit;
          const std::size_t n = static_cast<std::size_t>(y.size());
          if (!delay_noise(yp, dp, n, sigma.mutable_data(), &fit)) return py::make_tuple(py::none(), fit.k, fit.s, fit.x_typ);
          return py::make_tuple(sigma, fit.k, fit.s, fit.x_typ);
        },
        py::arg("y"), py::arg("d"),
        "Per-measurement noise scale from round-trip delays (models/delay_noise.h): "
        "(sigma or None, k, s, x_typ).");

  m.def("fit_regression",
        [](const Array& t, const Array& y, const std::optional<Array>& u, const ModelParams& params) {
          Array one(1);
          one.mutable_at(0) = 0.5;
          Inputs in = check_inputs(t, y, u, t, one);
          RegressionFit f = fit_regression(in.series(), params);
          py::dict d;
          d["ok"] = f.ok; d["t0"] = f.t0; d["offset"] = f.offset; d["freq"] = f.freq;
          d["offset_sd"] = std::sqrt(f.var_offset); d["skew"] = std::sqrt(f.var_freq);
          d["residual_sd"] = std::sqrt(f.s2); d["n_used"] = f.n_used; d["runs"] = f.runs;
          return d;
        },
        py::arg("t"), py::arg("y"), py::arg("u") = py::none(), py::arg("params") = ModelParams{},
        "chrony-style regression: offset at the newest time, frequency (value units per second), skew.");
}

}  // namespace chronotick::bindings
