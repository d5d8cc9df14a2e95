// Python bindings of the ring buffers: MeasurementBuffer rows (t, offset,
// uncertainty), CovariateBuffer rows (t, values...). Thin: shape checks and
// copies; the ring is cpp/buffers/ring_buffer.h.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cmath>
#include <optional>
#include <string>

#include "bindings/bindings.h"
#include "buffers/ring_buffer.h"

namespace py = pybind11;

namespace chronotick::bindings {
namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

// Two Python classes need two C++ types.
struct MeasurementRing : RowRing {
  explicit MeasurementRing(std::size_t capacity) : RowRing(capacity, 3) {}
};
struct CovariateRing : RowRing {
  CovariateRing(std::size_t capacity, std::size_t channels) : RowRing(capacity, 1 + channels) {}
};

std::size_t positive_size(py::ssize_t v, const char* name) {
  if (v <= 0) throw py::value_error(std::string(name) + " must be a positive integer, got " + std::to_string(v));
  return static_cast<std::size_t>(v);
}

void check_1d(const Array& a, const char* name) {
  if (a.ndim() != 1) throw py::value_error(std::string(name) + " must be 1-D, got " + std::to_string(a.ndim()) + "-D");
}

std::size_t snapshot_rows(const RowRing& r, const std::optional<py::ssize_t>& n, std::vector<double>& rows) {
  std::size_t want = r.capacity();
  if (n) {
    if (*n < 0) throw py::value_error("n must be >= 0, got " + std::to_string(*n));
    want = static_cast<std::size_t>(*n);
  }
  py::gil_scoped_release release;
  return r.snapshot(want, rows);
}

template <class R, class C>
void common(C& cls) {
  cls.def("__len__", [](const R& r) { return r.size(); })
      .def_property_readonly("capacity", [](const R& r) { return r.capacity(); })
      .def_property_readonly("overwritten", [](const R& r) { return r.overwritten(); },
                             "rows lost to overwriting when full")
      .def_property_readonly("total_pushed", [](const R& r) { return r.total_pushed(); })
      .def("clear", [](R& r) { r.clear(); }, "forget the held rows (counters keep counting)");
}

}  // namespace

void bind_buffers(py::module_& m) {
  py::class_<MeasurementRing> meas(m, "MeasurementBuffer",
                           "Lock-free SPSC ring of (t, offset, uncertainty) rows; overwrites the oldest when full.\n"
                           "One thread pushes, one thread snapshots. Units: seconds; NaN uncertainty = unknown.\n"
                           "No validation of time order or finiteness here: the Engine validates before pushing.");
  meas.def(py::init([](py::ssize_t capacity) { return new MeasurementRing(positive_size(capacity, "capacity")); }),
           py::arg("capacity"))
      .def("push",
           [](MeasurementRing& r, double t, double offset, double uncertainty) {
             const double row[3] = {t, offset, uncertainty};
             r.push(row, 1);
           },
           py::arg("t"), py::arg("offset"), py::arg("uncertainty") = std::nan(""))
      .def("push_many",
           [](MeasurementRing& r, const Array& t, const Array& offset, const std::optional<Array>& uncertainty) {
             check_1d(t, "t");
             check_1d(offset, "offset");
             const std::size_t n = static_cast<std::size_t>(t.size());
             if (static_cast<std::size_t>(offset.size()) != n)
               throw py::value_error("t and offset differ in length: " + std::to_string(n) + " vs " +
                                     std::to_string(offset.size()));
             const double* u = nullptr;
             if (uncertainty) {
               check_1d(*uncertainty, "uncertainty");
               if (static_cast<std::size_t>(uncertainty->size()) != n)
                 throw py::value_error("uncertainty and t differ in length");
               u = uncertainty->data();
             }
             const double* cols[3] = {t.data(), offset.data(), u};
             py::gil_scoped_release release;
             r.push_columns(cols, n);
           },
           py::arg("t"), py::arg("offset"), py::arg("uncertainty") = py::none(),
           "Append many rows from 1-D float64 arrays (GIL released).")
      .def("snapshot",
           [](const MeasurementRing& r, std::optional<py::ssize_t> n) {
             std::vector<double> rows;
             std::size_t k = snapshot_rows(r, n, rows);
             Array t(static_cast<py::ssize_t>(k)), y(static_cast<py::ssize_t>(k)), u(static_cast<py::ssize_t>(k));
             double *tp = t.mutable_data(), *yp = y.mutable_data(), *up = u.mutable_data();
             for (std::size_t i = 0; i < k; ++i) {
               tp[i] = rows[3 * i];
               yp[i] = rows[3 * i + 1];
               up[i] = rows[3 * i + 2];
             }
             return py::make_tuple(t, y, u);
           },
           py::arg("n") = py::none(), "(t, offset, uncertainty): the newest n rows (all if None), oldest first.");
  common<MeasurementRing>(meas);

  py::class_<CovariateRing> cov(m, "CovariateBuffer",
                          "Lock-free SPSC ring of (t, values[channels]) rows; overwrites the oldest when full.");
  cov.def(py::init([](py::ssize_t capacity, py::ssize_t channels) {
            return new CovariateRing(positive_size(capacity, "capacity"), positive_size(channels, "channels"));
          }),
          py::arg("capacity"), py::arg("channels"))
      .def_property_readonly("channels", [](const CovariateRing& r) { return r.width() - 1; })
      .def("push",
           [](CovariateRing& r, double t, const Array& values) {
             check_1d(values, "values");
             const std::size_t k = r.width() - 1;
             if (static_cast<std::size_t>(values.size()) != k)
               throw py::value_error("values has " + std::to_string(values.size()) + " entries, the buffer has " +
                                     std::to_string(k) + " channels");
             std::vector<double> row(1 + k);
             row[0] = t;
             std::copy(values.data(), values.data() + k, row.begin() + 1);
             r.push(row.data(), 1);
           },
           py::arg("t"), py::arg("values"))
      .def("push_many",
           [](CovariateRing& r, const Array& t, const Array& values) {
             check_1d(t, "t");
             const std::size_t k = r.width() - 1, n = static_cast<std::size_t>(t.size());
             if (values.ndim() != 2 || static_cast<std::size_t>(values.shape(0)) != n ||
                 static_cast<std::size_t>(values.shape(1)) != k)
               throw py::value_error("values must have shape (len(t), channels) = (" + std::to_string(n) + ", " +
                                     std::to_string(k) + ")");
             const std::size_t keep = std::min(n, r.capacity()), start = n - keep;
             const double *tp = t.data(), *vp = values.data();
             py::gil_scoped_release release;
             std::vector<double> rows(keep * (1 + k));
             for (std::size_t i = 0; i < keep; ++i) {
               rows[i * (1 + k)] = tp[start + i];
               std::copy(vp + (start + i) * k, vp + (start + i + 1) * k,
                         rows.begin() + static_cast<std::ptrdiff_t>(i * (1 + k) + 1));
             }
             r.push_tail(rows.data(), keep, n);
           },
           py::arg("t"), py::arg("values"))
      .def("snapshot",
           [](const CovariateRing& r, std::optional<py::ssize_t> n) {
             std::vector<double> rows;
             std::size_t rcount = snapshot_rows(r, n, rows);
             const std::size_t k = r.width() - 1;
             Array t(static_cast<py::ssize_t>(rcount));
             Array v({static_cast<py::ssize_t>(rcount), static_cast<py::ssize_t>(k)});
             for (std::size_t i = 0; i < rcount; ++i) {
               t.mutable_data()[i] = rows[i * (1 + k)];
               std::copy(rows.begin() + static_cast<std::ptrdiff_t>(i * (1 + k) + 1),
                         rows.begin() + static_cast<std::ptrdiff_t>((i + 1) * (1 + k)), v.mutable_data() + i * k);
             }
             return py::make_tuple(t, v);
           },
           py::arg("n") = py::none(), "(t, values[n, channels]): the newest n rows, oldest first.");
  common<CovariateRing>(cov);
}

}  // namespace chronotick::bindings
