// Python binding of the windowing (cpp/windowing/window.h). Thin: shape
// checks here, argument checks in the core (std::invalid_argument -> ValueError).
#include <cstdint>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bindings/bindings.h"
#include "fusion/forecast_checks.h"
#include "models/leads.h"
#include "windowing/detrend.h"
#include "windowing/forecast_input.h"
#include "windowing/float_repr.h"
#include "windowing/grid_quantiles.h"
#include "windowing/nearest_window.h"
#include "windowing/output_memo.h"
#include "windowing/pin_flat.h"
#include "windowing/pow2_scale.h"
#include "windowing/spike_mask.h"
#include "windowing/prefix_hash.h"
#include "windowing/quantile_conformal.h"
#include "windowing/window.h"

namespace py = pybind11;

namespace chronotick::bindings {

// OutputMemo.lookup's slot of a key not held
constexpr std::int64_t kMissingSlot = std::numeric_limits<std::int64_t>::min();

void bind_windowing(py::module_& m) {
  using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;
  py::class_<Window>(m, "Window",
                     "A model input on a regular grid: values (float32, centred: offset - level, seconds;\n"
                     "NaN where missing), mask (True = observed), times (float64 grid, seconds), level\n"
                     "(float64 seconds subtracted), scale (std of the centred observed values, ddof 0;\n"
                     "1.0 with fewer than 2 or no spread; values are not divided by it).")
      .def_property_readonly("values", [](const Window& w) {
        return py::array_t<float>(static_cast<py::ssize_t>(w.values.size()), w.values.data());
      })
      .def_property_readonly("mask", [](const Window& w) {
        py::array_t<bool> a(static_cast<py::ssize_t>(w.mask.size()));
        bool* p = a.mutable_data();
        for (std::size_t i = 0; i < w.mask.size(); ++i) p[i] = w.mask[i] != 0;
        return a;
      })
      .def_property_readonly("times", [](const Window& w) {
        return py::array_t<double>(static_cast<py::ssize_t>(w.times.size()), w.times.data());
      })
      .def_readonly("level", &Window::level)
      .def_readonly("scale", &Window::scale)
      .def("__repr__", [](const Window& w) {
        return "Window(context=" + std::to_string(w.values.size()) + ", level=" + std::to_string(w.level) +
               ", scale=" + std::to_string(w.scale) + ")";
      });

  m.def(
      "make_window",
      [](const Array& t, const Array& y, double end_time, double step_s, py::ssize_t context, double max_gap,
         std::optional<double> level) {
        if (t.ndim() != 1) throw py::value_error("t must be a 1-D array, got " + std::to_string(t.ndim()) + "-D");
        if (y.ndim() != 1) throw py::value_error("y must be a 1-D array, got " + std::to_string(y.ndim()) + "-D");
        if (t.size() != y.size())
          throw py::value_error("t and y differ in length: " + std::to_string(t.size()) + " vs " +
                                std::to_string(y.size()));
        if (context <= 0) throw py::value_error("context must be > 0, got " + std::to_string(context));
        if (level && std::isnan(*level)) throw py::value_error("level must be finite or None, got nan");
        const double lv = level ? *level : std::numeric_limits<double>::quiet_NaN();
        const double *tp = t.data(), *yp = y.data();
        const auto n = static_cast<std::size_t>(t.size());
        py::gil_scoped_release release;
        try {
          return make_window(tp, yp, n, end_time, step_s, static_cast<std::size_t>(context), max_gap, lv);
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());  // a C++ exception: safe without the GIL
        }
      },
      py::arg("t"), py::arg("y"), py::arg("end_time"), py::arg("step_s"), py::arg("context"),
      py::arg("max_gap") = std::numeric_limits<double>::infinity(), py::arg("level") = py::none(),
      "Resample irregular measurements onto a regular grid ending at end_time.\n\n"
      "t: 1-D float64 measurement times, seconds, strictly increasing, finite; y: the measured\n"
      "offsets (reference - local clock), seconds, finite; end_time: the last grid time, seconds;\n"
      "step_s: grid spacing, seconds (> 0); context: grid length; max_gap: seconds, grid points\n"
      "between measurements further apart are missing; level: subtracted before the float32\n"
      "cast (default: the last y at or before end_time). Grid points before the first or after\n"
      "the last used measurement are missing (no extrapolation); only t <= end_time is used.\n"
      "Returns a Window. Raises ValueError naming the argument (and index) on bad input.");

  py::class_<Windows>(m, "Windows",
                      "Many windows of one shape (make_windows): values [batch, context] float32, mask\n"
                      "[batch, context] bool, times [batch, context] float64, level [batch], scale [batch];\n"
                      "row b is what make_window gives for series b.")
      .def_property_readonly("values", [](const Windows& w) {
        py::array_t<float> a({static_cast<py::ssize_t>(w.batch), static_cast<py::ssize_t>(w.context)});
        std::copy(w.values.begin(), w.values.end(), a.mutable_data());
        return a;
      })
      .def_property_readonly("mask", [](const Windows& w) {
        py::array_t<bool> a({static_cast<py::ssize_t>(w.batch), static_cast<py::ssize_t>(w.context)});
        bool* p = a.mutable_data();
        for (std::size_t i = 0; i < w.mask.size(); ++i) p[i] = w.mask[i] != 0;
        return a;
      })
      .def_property_readonly("times", [](const Windows& w) {
        py::array_t<double> a({static_cast<py::ssize_t>(w.batch), static_cast<py::ssize_t>(w.context)});
        std::copy(w.times.begin(), w.times.end(), a.mutable_data());
        return a;
      })
      .def_property_readonly("level", [](const Windows& w) {
        return py::array_t<double>(static_cast<py::ssize_t>(w.level.size()), w.level.data());
      })
      .def_property_readonly("scale", [](const Windows& w) {
        return py::array_t<double>(static_cast<py::ssize_t>(w.scale.size()), w.scale.data());
      })
      .def("__len__", [](const Windows& w) { return w.batch; });

  m.def(
      "make_windows",
      [](const py::sequence& t, const py::sequence& y, const Array& end_time, double step_s, py::ssize_t context,
         double max_gap, const std::optional<Array>& level) {
        const auto batch = static_cast<std::size_t>(py::len(t));
        if (static_cast<std::size_t>(py::len(y)) != batch)
          throw py::value_error("t and y differ in length: " + std::to_string(batch) + " vs " +
                                std::to_string(py::len(y)) + " series");
        if (context <= 0) throw py::value_error("context must be > 0, got " + std::to_string(context));
        std::vector<Array> keep;
        keep.reserve(2 * batch);
        std::vector<const double*> tp(batch), yp(batch);
        std::vector<std::size_t> n(batch);
        for (std::size_t b = 0; b < batch; ++b) {
          const std::string where = "series " + std::to_string(b) + ": ";
          Array tb = Array::ensure(t[b]), yb = Array::ensure(y[b]);
          if (!tb || !yb) throw py::type_error(where + "t and y must be 1-D float arrays");
          if (tb.ndim() != 1 || yb.ndim() != 1) throw py::value_error(where + "t and y must be 1-D arrays");
          if (tb.size() != yb.size())
            throw py::value_error(where + "t and y differ in length: " + std::to_string(tb.size()) + " vs " +
                                  std::to_string(yb.size()));
          tp[b] = tb.data();
          yp[b] = yb.data();
          n[b] = static_cast<std::size_t>(tb.size());
          keep.push_back(std::move(tb));
          keep.push_back(std::move(yb));
        }
        // end_time and level: a scalar (broadcast) or one per series.
        auto per_series = [batch](const Array& a, const char* name) {
          if (a.ndim() == 0) return std::vector<double>(batch, *a.data());
          if (a.ndim() != 1 || static_cast<std::size_t>(a.size()) != batch)
            throw py::value_error(std::string(name) + " must be a scalar or 1-D with one entry per series (" +
                                  std::to_string(batch) + ")");
          return std::vector<double>(a.data(), a.data() + batch);
        };
        const std::vector<double> ends = per_series(end_time, "end_time");
        std::vector<double> levels;
        if (level) levels = per_series(*level, "level");
        py::gil_scoped_release release;
        try {
          return make_windows(tp.data(), yp.data(), n.data(), batch, ends.data(), step_s,
                              static_cast<std::size_t>(context), max_gap, level ? levels.data() : nullptr);
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
      },
      py::arg("t"), py::arg("y"), py::arg("end_time"), py::arg("step_s"), py::arg("context"),
      py::arg("max_gap") = std::numeric_limits<double>::infinity(), py::arg("level") = py::none(),
      "make_window for many series at once: t and y are sequences of 1-D arrays (one pair per\n"
      "series, lengths may differ); end_time and level are scalars or one per series (a NaN\n"
      "level = that series' default). Returns a Windows; errors name the series.");
  // ---- the ONNX forecaster's window and post-processing (nearest_window.h, grid_quantiles.h) ----
  using F32 = py::array_t<float, py::array::c_style>;
  using I64 = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
  auto shape_of = [](const py::array& a) {     // as numpy writes it: (3,) (2, 4)
    std::string shape = "(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i) shape += (i ? ", " : "") + std::to_string(a.shape(i));
    return shape + (a.ndim() == 1 ? ",)" : ")");
  };
  auto one_d = [shape_of](const Array& a, const char* name) {
    if (a.ndim() == 1) return;
    throw py::value_error(std::string(name) + " must be 1-D, got shape " + shape_of(a));
  };
  auto row = [](F32& out, py::ssize_t size, const char* what) {
    if (out.ndim() != 1 || out.size() != size || !out.writeable())
      throw py::value_error(std::string(what) + " must be a writable C-contiguous float32 array of " +
                            std::to_string(size) + " values");
    return out.mutable_data();
  };
  // x: the model inputs of a batch, edited in place -> (rows, context)
  auto rows = [](F32& x) {
    if (x.ndim() != 2 || !x.writeable())
      throw py::value_error("x must be a writable C-contiguous float32 array [batch, context], got " +
                            std::to_string(x.ndim()) + "-D");
    return std::make_pair(static_cast<std::size_t>(x.shape(0)), static_cast<std::size_t>(x.shape(1)));
  };

  m.def(
      "conformal_factors",
      [one_d](const Array& y, const Array& q, const Array& levels, py::ssize_t median_index, const Array& coverages) {
        one_d(y, "y");
        one_d(levels, "levels");
        one_d(coverages, "coverages");
        const py::ssize_t n = y.size(), K = levels.size();
        if (n < 1) throw py::value_error("y is empty: at least one past prediction is needed");
        if (K < 2) throw py::value_error("levels must have at least 2 entries, got " + std::to_string(K));
        if (q.ndim() != 2 || q.shape(0) != n || q.shape(1) != K)
          throw py::value_error("q must have shape (" + std::to_string(n) + ", " + std::to_string(K) +
                                ") (one row of quantiles per y), got " + std::to_string(q.ndim()) + "-D");
        if (median_index < 0 || median_index >= K)
          throw py::value_error("median_index must be in [0, " + std::to_string(K) + "), got " +
                                std::to_string(median_index));
        // Scores |y - median| / distance need finite values, and at_level's
        // interpolation needs levels strictly increasing inside (0, 1).
        check_levels(levels.data(), static_cast<std::size_t>(K));
        const double *yp = y.data(), *qp = q.data();
        for (py::ssize_t i = 0; i < n; ++i) {
          if (!std::isfinite(yp[i]))
            throw py::value_error("y[" + std::to_string(i) + "] = " + float_repr(yp[i]) + " is not finite");
          for (py::ssize_t k = 0; k < K; ++k)
            if (!std::isfinite(qp[i * K + k]))
              throw py::value_error("q[" + std::to_string(i) + ", " + std::to_string(k) + "] = " +
                                    float_repr(qp[i * K + k]) + " is not finite");
        }
        const double* c = coverages.data();
        for (py::ssize_t i = 0; i < coverages.size(); ++i)
          if (!(c[i] >= 0.0 && c[i] < 1.0))
            throw py::value_error("coverages[" + std::to_string(i) + "] = " + std::to_string(c[i]) +
                                  " is not in [0, 1)");
        Array out(coverages.size());
        conformal_factors(y.data(), q.data(), static_cast<std::size_t>(n), levels.data(), static_cast<std::size_t>(K),
                          static_cast<std::size_t>(median_index), c, static_cast<std::size_t>(coverages.size()),
                          out.mutable_data());
        return out;
      },
      py::arg("y"), py::arg("q"), py::arg("levels"), py::arg("median_index"), py::arg("coverages"),
      "Split-conformal factors of a quantile model's distances from its median, one per central coverage\n"
      "(cpp/windowing/quantile_conformal.h): y[n] observed, q[n, K] the raw quantiles (rows ascending) that\n"
      "had been predicted for them at `levels`.");

  m.def(
      "nearest_window",
      [one_d, row](const Array& t, const Array& y, double end_time, double step_s, py::ssize_t context,
                   std::optional<double> level, std::optional<F32> out, double spike_c) {
        one_d(t, "t");
        one_d(y, "y");
        if (context <= 0) throw py::value_error("context must be > 0, got " + std::to_string(context));
        if (level && !std::isfinite(*level))
          throw py::value_error("level must be finite or None, got " + float_repr(*level));
        F32 values = out ? *out : F32(context);
        float* v = row(values, context, "out");
        try {
          check_measurements(t.data(), static_cast<std::size_t>(t.size()), y.data(),
                             static_cast<std::size_t>(y.size()), 1);
          if (level && !std::isnan(spike_c))
            throw py::value_error("level and spike_c cannot both be given (a masked newest cell moves the level)");
          const double lv =
              level ? nearest_window(t.data(), y.data(), static_cast<std::size_t>(t.size()), end_time, step_s,
                                     static_cast<std::size_t>(context), *level, v)
                    : spike_free_window(t.data(), y.data(), static_cast<std::size_t>(t.size()), end_time, step_s,
                                        static_cast<std::size_t>(context), spike_c, v);
          return py::make_tuple(values, lv);
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
      },
      py::arg("t"), py::arg("y"), py::arg("end_time"), py::arg("step_s"), py::arg("context"),
      py::arg("level") = py::none(), py::arg("out").noconvert() = py::none(), py::arg("spike_c") = std::nan(""),
      "Bin measurements onto the grid end_time - (context-1-k) step_s, k = 0..context-1, each to its\n"
      "nearest grid time (mean where several share a cell, NaN where none), centred on `level`\n"
      "(default: the newest y): the input window the shipped clock-bolt model was trained on\n"
      "(numpy reference: chronotick.models.onnx.window). t: strictly increasing, finite; y finite.\n"
      "out: a float32 array of `context` values to fill (default: a new one). spike_c (not NaN): then\n"
      "cells that disagree by > spike_c sigma with their neighbours are set to NaN, re-centred on the\n"
      "newest kept cell if the newest was one (cpp/windowing/spike_mask.h).\n"
      "Returns (values float32 [context], level).");

  m.def(
      "window_step",
      [one_d](const Array& t, py::ssize_t diffs) {
        one_d(t, "t");
        if (diffs <= 0) throw py::value_error("diffs must be > 0, got " + std::to_string(diffs));
        try {
          // The median of the spacings is a step only for finite, strictly increasing times
          // (t as both series: no y here; an empty t is median_spacing's to refuse).
          const std::size_t n = static_cast<std::size_t>(t.size());
          if (n > 0) check_measurements(t.data(), n, t.data(), n, 1);
          return median_spacing(t.data(), static_cast<std::size_t>(t.size()), static_cast<std::size_t>(diffs));
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
      },
      py::arg("t"), py::arg("diffs") = 64,
      "The ONNX forecaster's grid step: the median of the newest `diffs` spacings t[i] - t[i-1]\n"
      "(needs at least 2 times).");

  m.def(
      "count_cells",
      [one_d](const Array& t, double step_s, py::ssize_t context) {
        one_d(t, "t");
        if (context <= 0) throw py::value_error("context must be > 0, got " + std::to_string(context));
        try {
          return count_cells(t.data(), static_cast<std::size_t>(t.size()), step_s, static_cast<std::size_t>(context));
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
      },
      py::arg("t"), py::arg("step_s"), py::arg("context"),
      "Cells of the window ending at t[-1] (context cells step_s wide) that hold a measurement\n"
      "(several in one cell count once). t: increasing.");

  m.def(
      "after_last_gap",
      [one_d](const Array& t, py::ssize_t look, double gap) {
        one_d(t, "t");
        if (look < 0) throw py::value_error("look must be >= 0, got " + std::to_string(look));
        return after_last_gap(t.data(), static_cast<std::size_t>(t.size()), static_cast<std::size_t>(look), gap);
      },
      py::arg("t"), py::arg("look"), py::arg("gap"),
      "Index of the first measurement after the newest spacing > gap among the newest `look`\n"
      "measurements of t; 0 if none.");

  // window_spans' / window_oldest's window arguments, checked as the core takes them
  auto check_window = [](py::ssize_t context, double step_factor, py::ssize_t min_span) {
    if (context <= 0) throw py::value_error("context must be > 0, got " + std::to_string(context));
    if (!(step_factor > 0) || !std::isfinite(step_factor))
      throw py::value_error("step_factor must be finite and > 0, got " + float_repr(step_factor));
    if (min_span <= 0) throw py::value_error("min_span must be > 0, got " + std::to_string(min_span));
  };
  // window_spans of the prefixes ending at `ends` (int64 array; prefix_keys' window= too)
  auto spans_of = [one_d, check_window](const Array& t, const I64& ends, py::ssize_t context, double step_factor,
                                        py::ssize_t min_span) {
    one_d(t, "t");
    if (ends.ndim() != 1) throw py::value_error("ends must be 1-D");
    check_window(context, step_factor, min_span);
    py::array_t<std::int64_t> out(ends.size());
    try {
      window_spans(t.data(), static_cast<std::size_t>(t.size()), ends.data(), static_cast<std::size_t>(ends.size()),
                   static_cast<std::size_t>(context), step_factor, static_cast<std::size_t>(min_span),
                   out.mutable_data());
    } catch (const std::invalid_argument& e) {
      throw py::value_error(e.what());
    }
    return out;
  };

  m.def("window_spans", spans_of, py::arg("t"), py::arg("ends"), py::arg("context"), py::arg("step_factor"),
        py::arg("min_span"),
        "For each prefix [0, i), i in ends: how many of its newest measurements its window (context\n"
        "cells of step_factor x the median of its newest 64 spacings, ending at t[i-1]) is made of --\n"
        "those from t[i-1] - (context + 1/2) step on -- and at least min_span\n"
        "(cpp/windowing/nearest_window.h). t: increasing, finite. Returns int64 [len(ends)].");

  m.def(
      "window_oldest",
      [one_d, check_window](const Array& t, py::ssize_t first_end, py::ssize_t last_end, py::ssize_t context,
                            double step_factor, py::ssize_t min_span) {
        one_d(t, "t");
        check_window(context, step_factor, min_span);
        if (first_end < 1 || last_end < 1) throw py::value_error("the ends must be >= 1");
        try {
          return window_oldest(t.data(), static_cast<std::size_t>(t.size()), static_cast<std::size_t>(first_end),
                               static_cast<std::size_t>(last_end), static_cast<std::size_t>(context), step_factor,
                               static_cast<std::size_t>(min_span));
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
      },
      py::arg("t"), py::arg("first_end"), py::arg("last_end"), py::arg("context"), py::arg("step_factor"),
      py::arg("min_span"),
      "min over i in [first_end, last_end) of i - window_spans(t, [i], ...)[0]: the oldest\n"
      "measurement the memo keys of those prefixes reach (the ONNX forecaster's calibration key).");

  // prefix_hashes' fingerprints of the prefixes [0, i), i in ends (checked as it documents)
  auto hashes_of = [one_d](const Array& t, const Array& y, const I64& ends, const py::object& span) {
    one_d(t, "t");
    one_d(y, "y");
    if (ends.ndim() != 1) throw py::value_error("ends must be 1-D");
    if (t.size() != y.size())
      throw py::value_error("t and y differ in length: " + std::to_string(t.size()) + " vs " +
                            std::to_string(y.size()));
    py::array_t<std::uint64_t> out(ends.size());
    const auto n = static_cast<std::size_t>(t.size()), m = static_cast<std::size_t>(ends.size());
    try {
      if (!py::isinstance<py::array>(span) && !py::isinstance<py::list>(span) &&
          !py::isinstance<py::tuple>(span)) {   // an integer, numpy's included
        py::ssize_t s = 0;
        try {
          s = span.cast<py::ssize_t>();
        } catch (const py::cast_error&) {
          throw py::type_error("span must be an integer or one per end, got " +
                               py::type::of(span).attr("__name__").cast<std::string>());
        }
        if (s <= 0) throw py::value_error("span must be >= 1, got " + std::to_string(s));
        prefix_hashes(t.data(), y.data(), n, ends.data(), m, static_cast<std::size_t>(s), out.mutable_data());
      } else {
        const auto spans = span.cast<I64>();
        if (spans.ndim() != 1 || spans.size() != ends.size())
          throw py::value_error("span must be an integer or one per end (" + std::to_string(ends.size()) +
                                "), got " + std::to_string(spans.size()));
        prefix_hashes_spans(t.data(), y.data(), n, ends.data(), m, spans.data(), out.mutable_data());
      }
    } catch (const std::invalid_argument& e) {
      throw py::value_error(e.what());
    }
    return out;
  };

  m.def("prefix_hashes", hashes_of, py::arg("t"), py::arg("y"), py::arg("ends"), py::arg("span"),
        "uint64 fingerprint of the newest `span` measurements of each prefix [0, i), i in `ends`\n"
        "(cpp/windowing/prefix_hash.h): sum x_j b^(i-1-j) mod 2^64 over j in [i - span, i), x_j a mix\n"
        "of the bit patterns of t_j and y_j. The ONNX forecaster's memo key. span: an integer, or\n"
        "one per end (int64 array).");

  // The memo keys' fingerprints (prefix_keys, OutputMemo.lookup): over `span` measurements, or with
  // window = (context, step_factor) over each prefix's window_spans, at least `span`.
  auto key_hashes = [hashes_of, spans_of](const Array& t, const Array& y, const I64& ends, const py::object& span,
                                          const py::object& window) {
    py::object spans = span;
    if (!window.is_none()) {
      std::pair<py::ssize_t, double> cw;
      try {
        cw = window.cast<std::pair<py::ssize_t, double>>();
      } catch (const py::cast_error&) {   // pybind11's "Unable to cast ... to C++ type '?'" named nothing
        throw py::type_error("window must be (context: int, step_factor: float), got " +
                             std::string(py::repr(window)));
      }
      spans = spans_of(t, ends, cw.first, cw.second, span.cast<py::ssize_t>());
    }
    return hashes_of(t, y, ends, spans);
  };

  m.def(
      "prefix_keys",
      [key_hashes](const Array& t, const Array& y, const I64& ends, const py::object& span,
                   const py::object& window) {
        const auto h = key_hashes(t, y, ends, span, window);   // ends checked in range there
        const double* tp = t.data();
        const double* yp = y.data();
        const std::int64_t* e = ends.data();
        const std::uint64_t* hp = h.data();
        py::list keys(ends.size());
        for (py::ssize_t k = 0; k < ends.size(); ++k)
          keys[k] = py::make_tuple(tp[e[k] - 1], yp[e[k] - 1], hp[k]);
        return keys;
      },
      py::arg("t"), py::arg("y"), py::arg("ends"), py::arg("span"), py::arg("window") = py::none(),
      "[(t[i-1], y[i-1], prefix_hashes' fingerprint) for i in ends] (Python floats and int): the\n"
      "ONNX forecaster's memo keys (python/chronotick/models/onnx.py, prefix_keys) in one call.\n"
      "window (context, step_factor): each prefix's fingerprint spans window_spans(t, ends, context,\n"
      "step_factor, span) measurements (span the least).");

  // The memo's index (cpp/windowing/output_memo.h): lookup computes the keys as prefix_keys and
  // finds them in one call.
  auto key_of = [](double t, double y, std::uint64_t h) { return MemoKey{t, y, h}; };
  py::class_<OutputMemo>(m, "OutputMemo",
                         "Index of the ONNX forecaster's memo of model outputs: key (t, y, h) -> slot, the\n"
                         "oldest key evicted once `capacity` are held, evicted keys remembered while\n"
                         "capacity < limit (cpp/windowing/output_memo.h).")
      .def(py::init([](py::ssize_t capacity, py::ssize_t limit) {
             if (capacity < 1 || limit < capacity)
               throw py::value_error("need 1 <= capacity <= limit, got capacity " + std::to_string(capacity) +
                                     ", limit " + std::to_string(limit));
             return OutputMemo(static_cast<std::size_t>(capacity), static_cast<std::size_t>(limit));
           }),
           py::arg("capacity"), py::arg("limit"))
      .def_readonly_static("MISSING", &kMissingSlot)
      .def(
          "lookup",
          [key_hashes](const OutputMemo& memo, const Array& t, const Array& y, const I64& ends,
                       const py::object& span, const py::object& window) {
            const auto h = key_hashes(t, y, ends, span, window);   // ends checked in range there
            py::array_t<std::int64_t> slots(ends.size());
            const std::size_t missing =
                memo.find_prefixes(t.data(), y.data(), ends.data(), h.data(), static_cast<std::size_t>(ends.size()),
                                   kMissingSlot, slots.mutable_data());
            return py::make_tuple(slots, h, missing);
          },
          py::arg("t"), py::arg("y"), py::arg("ends"), py::arg("span"), py::arg("window") = py::none(),
          "(slots, hashes, missing) of the prefixes [0, i), i in ends, keyed as prefix_keys keys them:\n"
          "slots int64 (the slot, -1 for i < 2, MISSING where not held), hashes uint64 (the keys' h),\n"
          "missing how many are not held.")
      .def("find", [key_of](const OutputMemo& memo, double t, double y, std::uint64_t h) {
             return memo.find(key_of(t, y, h));
           }, py::arg("t"), py::arg("y"), py::arg("h"), "The key's slot, -1 where it is not held.")
      .def("add", [key_of](OutputMemo& memo, double t, double y, std::uint64_t h) {
             if (memo.find(key_of(t, y, h)) >= 0) throw py::value_error("the key is held already");
             try {
               return memo.add(key_of(t, y, h));
             } catch (const std::invalid_argument& e) {
               throw py::value_error(e.what());
             }
           }, py::arg("t"), py::arg("y"), py::arg("h"),
           "Add a key not held; returns its slot (the oldest key's when capacity are held).")
      .def("evicted", [key_of](const OutputMemo& memo, double t, double y, std::uint64_t h) {
             return memo.evicted(key_of(t, y, h));
           }, py::arg("t"), py::arg("y"), py::arg("h"), "Whether the key was evicted since the last grow().")
      .def("grow", &OutputMemo::grow, "capacity doubled (up to limit), the evicted keys forgotten.")
      .def("clear", &OutputMemo::clear)
      .def("slots", &OutputMemo::slots, "The slots in use, oldest key first.")
      .def("__len__", &OutputMemo::size)
      .def_property("capacity", &OutputMemo::capacity,
                    [](OutputMemo& memo, py::ssize_t c) {
                      if (c < 1 || static_cast<std::size_t>(c) > memo.limit())
                        throw py::value_error("capacity must be in [1, limit = " + std::to_string(memo.limit()) +
                                              "], got " + std::to_string(c));
                      memo.set_capacity(static_cast<std::size_t>(c));
                    })
      .def_property_readonly("limit", &OutputMemo::limit);

  m.def(
      "detrend_rows",
      [rows](F32 x, double r2_min) {
        const auto [B, L] = rows(x);
        if (std::isinf(r2_min)) throw py::value_error("r2_min must be finite or NaN, got " + std::to_string(r2_min));
        py::array_t<double> slopes(static_cast<py::ssize_t>(B));
        double* b = slopes.mutable_data();
        float* v = x.mutable_data();
        thread_local DetrendWork work;
        for (std::size_t i = 0; i < B; ++i) b[i] = std::isnan(r2_min) ? 0.0 : detrend_window(v + i * L, L, r2_min, work);
        return slopes;
      },
      py::arg("x").noconvert(), py::arg("r2_min"),
      "For each row of x (float32 [batch, context], the model's input, NaN = empty cell), in place:\n"
      "a robust line through its observed cells (least squares, then Huber passes), removed when it\n"
      "explains the row (R^2 = 1 - (MAD(residuals) / MAD(row))^2 > r2_min), anchored at the newest\n"
      "cell (cpp/windowing/detrend.h); r2_min NaN: no detrending (as forecast_window). Returns the\n"
      "slope removed per row (per grid step; 0: none); grid_quantiles(..., slope=) puts it back.");

  m.def(
      "mask_spike_rows",
      [rows](F32 x, double c) {
        const auto [B, L] = rows(x);
        py::array_t<std::int64_t> masked(static_cast<py::ssize_t>(B));
        float* v = x.mutable_data();
        thread_local SpikeWork work;
        try {
          for (std::size_t i = 0; i < B; ++i)
            masked.mutable_data()[i] = static_cast<std::int64_t>(mask_spikes(v + i * L, L, c, work));
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
        return masked;
      },
      py::arg("x").noconvert(), py::arg("c"),
      "For each row of x (float32 [batch, context], NaN = empty cell), in place: the cells that\n"
      "disagree by more than c robust sigma with the cells before and the cell after them set to NaN\n"
      "(cpp/windowing/spike_mask.h; no re-centring). Returns the count masked per row.");

  m.def(
      "forecast_window",
      [one_d, row](F32 out, const Array& t, const Array& y, const Array& target_times, double step_s,
                   py::ssize_t horizon, const std::string& model, double detrend_r2, double spike_c) {
        one_d(t, "t");
        one_d(y, "y");
        one_d(target_times, "target_times");
        if (horizon <= 0) throw py::value_error("horizon must be > 0, got " + std::to_string(horizon));
        float* v = row(out, out.size(), "out");
        py::array_t<double> h(target_times.size());
        try {
          const ForecastInput in = prepare_forecast(
              t.data(), static_cast<std::size_t>(t.size()), y.data(), static_cast<std::size_t>(y.size()),
              target_times.data(), static_cast<std::size_t>(target_times.size()), step_s,
              static_cast<std::size_t>(out.size()), static_cast<std::size_t>(horizon), model, v, h.mutable_data(),
              detrend_r2, spike_c);
          return py::make_tuple(in.level, in.step, h, in.slope);
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
      },
      py::arg("out").noconvert(), py::arg("t"), py::arg("y"), py::arg("target_times"), py::arg("step_s"),
      py::arg("horizon"),
      py::arg("model"), py::arg("detrend_r2") = std::nan(""), py::arg("spike_c") = std::nan(""),
      "The ONNX forecaster's input in one pass: checks t, y (finite, t strictly increasing, >= 2)\n"
      "and target_times, takes the grid step (step_s, or NaN: the median spacing of the newest 65\n"
      "measurements), fills `out` (float32 [context], the model's input row) with nearest_window\n"
      "ending at t[-1], and maps the targets to grid steps h = (target - t[-1]) / step (refusing\n"
      "h < 0 and h > horizon + 1/2); with detrend_r2 (not NaN) takes out a line that explains the\n"
      "window (detrend_rows); with spike_c (not NaN) first masks its gross outliers (nearest_window).\n"
      "Returns (level, step, h, slope). ValueError names a bad value.");

  m.def(
      "pin_flat_rows",
      [shape_of](const F32& x, F32& out) {
        if (x.ndim() != 2 || out.ndim() != 3 || out.shape(0) != x.shape(0) || !out.writeable())
          throw py::value_error("x must be float32 [B, L] and out a writable float32 [B, K, H], got shapes " +
                                shape_of(x) + " and " + shape_of(out) + (out.writeable() ? "" : " (read-only)"));
        return pin_flat_rows(x.data(), static_cast<std::size_t>(x.shape(0)), static_cast<std::size_t>(x.shape(1)),
                             out.mutable_data(), static_cast<std::size_t>(out.shape(1) * out.shape(2)));
      },
      py::arg("x"), py::arg("out").noconvert(),   // a converted copy would take the writes
      "Each row of out [B, K, H] whose window x [B, L] has all its observed (not NaN) cells equal, at\n"
      "least one observed, set to that value at every level and step (cpp/windowing/pin_flat.h).\n"
      "Returns how many rows were pinned.");

  m.def(
      "pow2_rescale_rows",
      [shape_of](F32& x) -> py::object {
        if (x.ndim() != 2 || !x.writeable())
          throw py::value_error("x must be a writable float32 [B, L], got shape " + shape_of(x) +
                                (x.writeable() ? "" : " (read-only)"));
        const auto rows = static_cast<std::size_t>(x.shape(0));
        py::array_t<int> exps(static_cast<py::ssize_t>(rows));
        const std::size_t n = pow2_rescale_rows(x.mutable_data(), rows, static_cast<std::size_t>(x.shape(1)),
                                                exps.mutable_data());
        if (n == 0) return py::none();
        return std::move(exps);
      },
      py::arg("x").noconvert(),   // a converted copy would take the writes
      "Rows of the window batch x [B, L] whose largest |cell| lies outside [2^-64, 2^56) multiplied\n"
      "by a power of two into [1, 2), in place (cpp/windowing/pow2_scale.h). Returns None when no row\n"
      "was, else each row's exponent (0: left) for pow2_unscale_rows.");

  m.def(
      "pow2_unscale_rows",
      [shape_of](F32& x, F32& out, const py::array_t<int, py::array::c_style | py::array::forcecast>& exps) {
        if (x.ndim() != 2 || out.ndim() != 3 || out.shape(0) != x.shape(0) || exps.size() != x.shape(0) ||
            !x.writeable() || !out.writeable())
          throw py::value_error("x must be a writable float32 [B, L], out a writable float32 [B, K, H] and "
                                "exps [B], got shapes " + shape_of(x) + ", " + shape_of(out) + " and " +
                                std::to_string(exps.size()) + " exponents");
        for (py::ssize_t r = 0; r < exps.size(); ++r)   // pow2_rescale_rows' own are within +-1100; -INT_MIN overflowed
          if (exps.data()[r] < -2000 || exps.data()[r] > 2000)
            throw py::value_error("exps[" + std::to_string(r) + "] = " + std::to_string(exps.data()[r]) +
                                  " is no exponent pow2_rescale_rows gives (|e| <= 2000)");
        pow2_unscale_rows(x.mutable_data(), static_cast<std::size_t>(x.shape(0)),
                          static_cast<std::size_t>(x.shape(1)), out.mutable_data(),
                          static_cast<std::size_t>(out.shape(1) * out.shape(2)), exps.data());
      },
      py::arg("x").noconvert(), py::arg("out").noconvert(), py::arg("exps"),
      "pow2_rescale_rows undone on x and applied inversely to each row of the model output out.");

  // grid_quantiles' checks of its plan; the model output q's (K, H)
  auto grid_plan = [](const F32& q, const I64& lo, const I64& hi, const Array& w, const Array& w1, const Array& f,
                      py::ssize_t median_index) {
    if (q.ndim() != 2) throw py::value_error("q must be float32 [K, H]");
    const auto L = static_cast<std::size_t>(lo.size());
    if (static_cast<std::size_t>(hi.size()) != L || static_cast<std::size_t>(w.size()) != L ||
        static_cast<std::size_t>(w1.size()) != L || static_cast<std::size_t>(f.size()) != L)
      throw py::value_error("lo, hi, w, w1 and f must have one entry per level");
    if (median_index < 0) throw py::value_error("median_index must be >= 0");
    return std::make_pair(static_cast<std::size_t>(q.shape(0)), static_cast<std::size_t>(q.shape(1)));
  };
  auto run_grid = [](const F32& q, std::size_t K, std::size_t H, const Array& h, double level, double slope,
                     py::ssize_t median_index, const LevelPlan& plan, double* median, double* out) {
    try {
      grid_quantiles(q.data(), K, H, h.data(), static_cast<std::size_t>(h.size()), level, slope,
                     static_cast<std::size_t>(median_index), plan, median, out);
    } catch (const std::invalid_argument& e) {
      throw py::value_error(e.what());
    }
  };

  m.def(
      "grid_quantiles",
      [grid_plan, run_grid](const F32& q, const Array& h, double level, py::ssize_t median_index, const I64& lo,
                            const I64& hi, const Array& w, const Array& w1, const Array& f, double slope) -> py::object {
        const auto [K, H] = grid_plan(q, lo, hi, w, w1, f, median_index);
        if (!all_finite(q.data(), K * H)) return py::none();
        const auto T = static_cast<py::ssize_t>(h.size()), L = static_cast<py::ssize_t>(lo.size());
        py::array_t<double> median(T);
        py::array_t<double> out({T, L});
        run_grid(q, K, H, h, level, slope, median_index,
                 LevelPlan{lo.data(), hi.data(), w.data(), w1.data(), f.data(), static_cast<std::size_t>(L)},
                 median.mutable_data(), out.mutable_data());
        return py::make_tuple(median, out);
      },
      py::arg("q"), py::arg("h"), py::arg("level"), py::arg("median_index"), py::arg("lo"), py::arg("hi"),
      py::arg("w"), py::arg("w1"), py::arg("f"), py::arg("slope") = 0.0,
      "A grid model's quantiles q (float32 [K, H], centred) at fractional steps h, uncentred by\n"
      "`level` plus `slope` x the (clamped) step (the line detrend_rows took out), sorted, mapped\n"
      "to the requested levels by the plan (lo, hi, w, w1, f; see cpp/windowing/grid_quantiles.h). Returns (median [T], quantiles [T, levels]), or None when q\n"
      "holds a non-finite value.");

  m.def(
      "grid_forecast",
      [grid_plan, run_grid](std::string model, const Array& times, const Array& levels, const F32& q, const Array& h,
                            double level, py::ssize_t median_index, const I64& lo, const I64& hi, const Array& w,
                            const Array& w1, const Array& f, double slope, const std::string& note) -> py::object {
        const auto [K, H] = grid_plan(q, lo, hi, w, w1, f, median_index);
        if (times.ndim() != 1 || levels.ndim() != 1 || h.ndim() != 1)
          throw py::value_error("times, levels and h must be 1-D");
        const auto T = static_cast<std::size_t>(h.size()), L = static_cast<std::size_t>(lo.size());
        if (static_cast<std::size_t>(times.size()) != T || static_cast<std::size_t>(levels.size()) != L)
          throw py::value_error("times must have one entry per step h (" + std::to_string(T) +
                                "), levels one per plan entry (" + std::to_string(L) + "); got " +
                                std::to_string(times.size()) + " and " + std::to_string(levels.size()));
        check_levels(levels.data(), L);        // bad levels are an error even where q is not finite
        if (!all_finite(q.data(), K * H)) return py::none();
        QuantileForecast fc;
        fc.model = std::move(model);
        fc.times.assign(times.data(), times.data() + T);
        fc.levels.assign(levels.data(), levels.data() + L);
        fc.mean.resize(T);
        fc.quantiles.resize(T * L);
        run_grid(q, K, H, h, level, slope, median_index, LevelPlan{lo.data(), hi.data(), w.data(), w1.data(), f.data(), L},
                 fc.mean.data(), fc.quantiles.data());
        finish_forecast(fc, false, note);
        return py::cast(std::move(fc));
      },
      py::arg("model"), py::arg("times"), py::arg("levels"), py::arg("q"), py::arg("h"), py::arg("level"),
      py::arg("median_index"), py::arg("lo"), py::arg("hi"), py::arg("w"), py::arg("w1"), py::arg("f"),
      py::arg("slope") = 0.0, py::arg("note") = std::string(),
      "grid_quantiles made into the QuantileForecast of `model` at `times` (one per step h) and\n"
      "`levels` (one per plan entry), checked as QuantileForecast(...) checks\n"
      "(cpp/fusion/forecast_checks.h), in one call; None when q holds a non-finite value.");

  m.def(
      "lead_buckets",
      [](const Array& h, std::int64_t cap) {
        if (h.ndim() != 1) throw py::value_error("h must be 1-D");
        if (cap < 1) throw py::value_error("cap must be >= 1, got " + std::to_string(cap));
        py::array_t<std::int64_t> out(h.size());
        try {
          onnx_lead_buckets(h.data(), static_cast<std::size_t>(h.size()), cap, out.mutable_data());
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
        return out;
      },
      py::arg("h"), py::arg("cap"),
      "The ONNX forecaster's lead bucket of each h (grid steps ahead): 2^round(log2 max(h, 1)),\n"
      "rounded half to even, at most cap (cpp/models/leads.h, onnx_lead_buckets). int64 [len(h)].");

  m.def(
      "read_ahead",
      [shape_of](const F32& memo_q, const Array& memo_meta, std::optional<F32> fresh_q,
                 std::optional<Array> fresh_meta, const I64& src, const Array& dt) {
        if (memo_q.ndim() != 3 || memo_meta.ndim() != 2 || memo_meta.shape(0) != memo_q.shape(0) ||
            memo_meta.shape(1) != 3)
          throw py::value_error("memo_q must be float32 [R, K, H] and memo_meta float64 [R, 3], got shapes " +
                                shape_of(memo_q) + " and " + shape_of(memo_meta));
        const auto K = memo_q.shape(1), H = memo_q.shape(2);
        if (fresh_q.has_value() != fresh_meta.has_value())
          throw py::value_error("fresh_q and fresh_meta must be given together");
        py::ssize_t fresh_rows = 0;
        if (fresh_q) {
          if (fresh_q->ndim() != 3 || fresh_q->shape(1) != K || fresh_q->shape(2) != H || fresh_meta->ndim() != 2 ||
              fresh_meta->shape(0) != fresh_q->shape(0) || fresh_meta->shape(1) != 3)
            throw py::value_error("fresh_q must be float32 [F, K, H] like memo_q " + shape_of(memo_q) +
                                  " and fresh_meta [F, 3], got shapes " + shape_of(*fresh_q) + " and " +
                                  shape_of(*fresh_meta));
          fresh_rows = fresh_q->shape(0);
        }
        if (src.ndim() != 1 || dt.ndim() != 1 || src.size() != dt.size())
          throw py::value_error("src and dt must be 1-D of one length, got shapes " + shape_of(src) + " and " +
                                shape_of(dt));
        const auto P = static_cast<std::size_t>(src.size());
        std::vector<const float*> rows(P);
        std::vector<const double*> meta(P);
        const auto per_row = static_cast<std::size_t>(K * H);
        for (std::size_t p = 0; p < P; ++p) {
          const int64_t s = src.data()[p];
          if (s >= 0 && s < memo_q.shape(0)) {
            rows[p] = memo_q.data() + static_cast<std::size_t>(s) * per_row;
            meta[p] = memo_meta.data() + static_cast<std::size_t>(s) * 3;
          } else if (s <= -2 && -2 - s < fresh_rows) {
            rows[p] = fresh_q->data() + static_cast<std::size_t>(-2 - s) * per_row;
            meta[p] = fresh_meta->data() + static_cast<std::size_t>(-2 - s) * 3;
          } else if (s == -1) {
            rows[p] = nullptr;
            meta[p] = nullptr;
          } else {
            throw py::value_error("src[" + std::to_string(p) + "] = " + std::to_string(s) + " is no memo row (0.." +
                                  std::to_string(memo_q.shape(0) - 1) + "), -1, or fresh row (-2.." +
                                  std::to_string(-1 - fresh_rows) + ")");
          }
        }
        py::array_t<double> out({static_cast<py::ssize_t>(P), K});
        try {
          read_ahead(rows.data(), meta.data(), dt.data(), P, static_cast<std::size_t>(K), static_cast<std::size_t>(H),
                     out.mutable_data());
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
        return out;
      },
      py::arg("memo_q"), py::arg("memo_meta"), py::arg("fresh_q"), py::arg("fresh_meta"), py::arg("src"),
      py::arg("dt"),
      "Past predictions of the calibration (cpp/windowing/grid_quantiles.h, read_ahead): for each pair p\n"
      "the model output of src[p] -- a row of memo_q [R, K, H] (src >= 0), of fresh_q (src = -2 - row),\n"
      "or none (-1: NaN) -- with its (step, level, slope) from memo_meta / fresh_meta, read dt[p]\n"
      "seconds ahead, sorted. Returns float64 [P, K]; NaN rows beyond horizon + 1/2 steps.");

  m.def(
      "past_mean_sigma",
      [shape_of](const Array& q, const py::array_t<bool, py::array::c_style | py::array::forcecast>& todo,
                 py::ssize_t median_index, const I64& lo, const I64& hi, const Array& w, const Array& w1,
                 const Array& f, py::array_t<double, py::array::c_style> mean,
                 py::array_t<double, py::array::c_style> sigma) {
        if (q.ndim() != 2) throw py::value_error("q must be 2-D [P, K], got shape " + shape_of(q));
        const auto P = q.shape(0), K = q.shape(1);
        if (todo.ndim() != 1 || todo.size() != P || mean.ndim() != 1 || mean.size() != P || sigma.ndim() != 1 ||
            sigma.size() != P || f.ndim() != 2 || f.shape(0) != P || f.shape(1) != 2)
          throw py::value_error("todo, mean, sigma must be [P] and f [P, 2] for q " + shape_of(q));
        if (lo.size() != 2 || hi.size() != 2 || w.size() != 2 || w1.size() != 2)
          throw py::value_error("lo, hi, w, w1 must hold the plan's two levels");
        if (median_index < 0) throw py::value_error("median_index must be >= 0");
        try {
          past_mean_sigma(q.data(), static_cast<std::size_t>(P), static_cast<std::size_t>(K),
                          static_cast<std::size_t>(median_index), todo.data(), lo.data(), hi.data(), w.data(),
                          w1.data(), f.data(), mean.mutable_data(), sigma.mutable_data());
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
      },
      py::arg("q"), py::arg("todo"), py::arg("median_index"), py::arg("lo"), py::arg("hi"), py::arg("w"),
      py::arg("w1"), py::arg("f"), py::arg("mean").noconvert(), py::arg("sigma").noconvert(),
      "Fills mean and sigma (float64 [P], in place) of the rows of q [P, K] marked in todo from the\n"
      "plan's two levels and each row's factors f [P, 2], then floors every finite mean's sigma at its\n"
      "resolution (cpp/windowing/grid_quantiles.h, past_mean_sigma).");
}

}  // namespace chronotick::bindings
