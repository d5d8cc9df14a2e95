// Python binding of the windowing (cpp/windowing/window.h). Thin: shape
// checks here, argument checks in the core (std::invalid_argument -> ValueError).
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
#include "windowing/window.h"

namespace py = pybind11;

namespace chronotick::bindings {

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
}

}  // namespace chronotick::bindings
