// Python binding of the windowing (cpp/windowing/window.h). Thin.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

#include "bindings/bindings.h"
#include "windowing/window.h"

namespace py = pybind11;

namespace chronotick::bindings {

void bind_windowing(py::module_& m) {
  using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;
  py::class_<Window>(m, "Window", "A model input: centred float32 values on a regular grid, mask, level, scale.")
      .def_property_readonly("values", [](const Window& w) {
        return py::array_t<float>(static_cast<py::ssize_t>(w.values.size()), w.values.data());
      })
      .def_property_readonly("mask", [](const Window& w) {
        py::array_t<bool> a(static_cast<py::ssize_t>(w.mask.size()));
        for (std::size_t i = 0; i < w.mask.size(); ++i) a.mutable_data()[i] = w.mask[i] != 0;
        return a;
      })
      .def_property_readonly("times", [](const Window& w) {
        return py::array_t<double>(static_cast<py::ssize_t>(w.times.size()), w.times.data());
      })
      .def_readonly("level", &Window::level)
      .def_readonly("scale", &Window::scale);

  m.def(
      "make_window",
      [](const Array& t, const Array& y, double end_time, double step_s, py::ssize_t context, double max_gap,
         std::optional<double> level) {
        if (t.ndim() != 1 || y.ndim() != 1) throw py::value_error("t and y must be 1-D");
        if (t.size() != y.size())
          throw py::value_error("t and y differ in length: " + std::to_string(t.size()) + " vs " +
                                std::to_string(y.size()));
        if (context <= 0) throw py::value_error("context must be > 0, got " + std::to_string(context));
        if (!(step_s > 0) || !std::isfinite(step_s))
          throw py::value_error("step_s must be finite and > 0, got " + std::to_string(step_s));
        if (!(max_gap > 0)) throw py::value_error("max_gap must be > 0, got " + std::to_string(max_gap));
        const double* tp = t.data();
        for (py::ssize_t i = 1; i < t.size(); ++i)
          if (!(tp[i] > tp[i - 1])) throw py::value_error("t must be strictly increasing at index " + std::to_string(i));
        if (level && !std::isfinite(*level)) throw py::value_error("level must be finite");
        const double lv = level ? *level : std::numeric_limits<double>::quiet_NaN();
        py::gil_scoped_release release;
        try {
          return make_window(tp, y.data(), static_cast<std::size_t>(t.size()), end_time, step_s,
                             static_cast<std::size_t>(context), max_gap, lv);
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());  // a C++ exception: safe without the GIL
        }
      },
      py::arg("t"), py::arg("y"), py::arg("end_time"), py::arg("step_s"), py::arg("context"),
      py::arg("max_gap") = std::numeric_limits<double>::infinity(), py::arg("level") = py::none(),
      "Resample irregular measurements onto `context` grid points of step_s ending at end_time (see window.h).");
}

}  // namespace chronotick::bindings
