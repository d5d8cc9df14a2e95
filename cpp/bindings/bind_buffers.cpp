// Python bindings of the ring buffers (cpp/buffers/ring_buffer.h):
// MeasurementBuffer records (t, offset, uncertainty), CovariateBuffer records
// (t, values[channels]). Thin: shape checks, then copies straight between the
// numpy arrays and the ring's columns with the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

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
  std::size_t channels() const { return width() - 1; }
};

std::size_t positive_size(py::ssize_t v, const char* name) {
  if (v <= 0) throw py::value_error(std::string(name) + " must be a positive integer, got " + std::to_string(v));
  return static_cast<std::size_t>(v);
}

void check_1d(const Array& a, const char* name) {
  if (a.ndim() != 1)
    throw py::value_error(std::string(name) + " must be a 1-D array, got " + std::to_string(a.ndim()) + "-D");
}

void check_length(const Array& a, const char* name, std::size_t n) {
  if (static_cast<std::size_t>(a.size()) != n)
    throw py::value_error(std::string(name) + " has length " + std::to_string(a.size()) + ", t has length " +
                          std::to_string(n));
}

// How many records to allocate for snapshot(n): never more than are held
// now (the held count can only grow, up to capacity, until the copy).
std::size_t snapshot_room(const RowRing& r, const std::optional<py::ssize_t>& n) {
  std::size_t want = r.capacity();
  if (n) {
    if (*n < 0) throw py::value_error("n must be >= 0 or None, got " + std::to_string(*n));
    want = static_cast<std::size_t>(*n);
  }
  return std::min(want, r.size());
}

// The first k rows of a (a copy only in the rare case that the snapshot got
// fewer records than allocated: a concurrent clear(), or an overrun).
py::array head_rows(const py::array& a, std::size_t k, std::size_t room) {
  if (k == room) return a;
  return py::array(a[py::slice(0, static_cast<py::ssize_t>(k), 1)]).attr("copy")();
}

template <class R, class C>
void counters(C& cls) {
  cls.def("__len__", [](const R& r) { return r.size(); }, "records held now (at most capacity)")
      .def_property_readonly("capacity", [](const R& r) { return r.capacity(); })
      .def_property_readonly("overwritten", [](const R& r) { return r.overwritten(); },
                             "records lost to overwriting the oldest when full (never reset)")
      .def_property_readonly("total_pushed", [](const R& r) { return r.total_pushed(); },
                             "records ever pushed (never reset)")
      .def("clear", [](R& r) { r.clear(); }, "Forget the held records (the counters keep counting).");
}


// MeasurementBuffer.push(t, offset, uncertainty=nan) as a raw METH_FASTCALL
// method: the collector calls it once per measurement, and pybind11's
// generic dispatch costs several times the push itself.
double fast_arg(PyObject* o, const char* name, bool& ok) {
  const double v = PyFloat_AsDouble(o);
  if (v == -1.0 && PyErr_Occurred()) {
    if (PyErr_ExceptionMatches(PyExc_OverflowError)) {  // an int beyond float64: not a type error
      PyErr_Clear();
      PyErr_Format(PyExc_OverflowError, "push(): %s = %.100R is too large for a float64", name, o);
    } else {
      PyErr_Format(PyExc_TypeError, "push(): %s must be a real number, got %.100s", name, Py_TYPE(o)->tp_name);
    }
    ok = false;
  }
  return v;
}

PyTypeObject* measurement_type = nullptr;

PyObject* measurement_push(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  static const char* const names[3] = {"t", "offset", "uncertainty"};
  PyObject* given[3] = {nullptr, nullptr, nullptr};
  const Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  if (nargs > 3) {
    PyErr_Format(PyExc_TypeError, "push() takes at most 3 arguments (%zd given)", nargs);
    return nullptr;
  }
  for (Py_ssize_t i = 0; i < nargs; ++i) given[i] = args[i];
  for (Py_ssize_t k = 0; k < nkw; ++k) {
    PyObject* key = PyTuple_GET_ITEM(kwnames, k);
    int slot = -1;
    for (int i = 0; i < 3; ++i)
      if (PyUnicode_CompareWithASCIIString(key, names[i]) == 0) slot = i;
    if (slot < 0) {
      PyErr_Format(PyExc_TypeError, "push() got an unexpected keyword argument '%U'", key);
      return nullptr;
    }
    if (given[slot]) {
      PyErr_Format(PyExc_TypeError, "push() got multiple values for argument '%s'", names[slot]);
      return nullptr;
    }
    given[slot] = args[nargs + k];
  }
  for (int i = 0; i < 2; ++i)
    if (!given[i]) {
      PyErr_Format(PyExc_TypeError, "push() missing required argument '%s'", names[i]);
      return nullptr;
    }
  bool ok = true;
  double record[3];
  record[0] = fast_arg(given[0], "t", ok);
  if (ok) record[1] = fast_arg(given[1], "offset", ok);
  // uncertainty None = unknown (NaN), as push_many's
  if (ok) record[2] = given[2] && given[2] != Py_None ? fast_arg(given[2], "uncertainty", ok)
                                                       : std::numeric_limits<double>::quiet_NaN();
  if (!ok) return nullptr;
  MeasurementRing* ring = bound_self<MeasurementRing>(self, measurement_type);
  if (ring == nullptr) {
    PyErr_SetString(PyExc_TypeError, "push(): the MeasurementBuffer is not initialised");
    return nullptr;
  }
  ring->push(record);
  Py_RETURN_NONE;
}

PyMethodDef measurement_push_def = {
    "push", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)(void)>(measurement_push)),
    METH_FASTCALL | METH_KEYWORDS,
    "push(t, offset, uncertainty=nan)\n\nAppend one record: t and offset (reference - local clock) in seconds,\n"
    "uncertainty in seconds (NaN or None = unknown)."};

}  // namespace

void bind_buffers(py::module_& m) {
  py::class_<MeasurementRing> meas(
      m, "MeasurementBuffer",
      "Lock-free single-producer/single-consumer ring of (t, offset, uncertainty) records.\n\n"
      "t: seconds (any epoch); offset = reference - local clock, seconds; uncertainty: seconds,\n"
      "NaN = unknown. Overwrites the oldest record when full (counted in .overwritten).\n"
      "One thread pushes while others take snapshots; a snapshot is always the newest\n"
      "records in push order, none torn. Pushes from several threads must be serialised\n"
      "by the caller (push_many runs without the GIL). The buffer does not check time\n"
      "order or finiteness: the caller (chronotick's Engine) validates before pushing.");
  meas.def(py::init([](py::ssize_t capacity) { return new MeasurementRing(positive_size(capacity, "capacity")); }),
           py::arg("capacity"))
      .def(
          "push_many",
          [](MeasurementRing& r, const Array& t, const Array& offset, const std::optional<Array>& uncertainty) {
            check_1d(t, "t");
            check_1d(offset, "offset");
            const std::size_t n = static_cast<std::size_t>(t.size());
            check_length(offset, "offset", n);
            Field f[3] = {{t.data(), 1}, {offset.data(), 1}, {nullptr, 1}};
            if (uncertainty) {
              check_1d(*uncertainty, "uncertainty");
              check_length(*uncertainty, "uncertainty", n);
              f[2].p = uncertainty->data();
            }
            py::gil_scoped_release release;
            r.push_fields(f, n);
          },
          py::arg("t"), py::arg("offset"), py::arg("uncertainty") = py::none(),
          "Append len(t) records from 1-D float64 arrays of equal length (uncertainty None = NaN).\n"
          "Only the newest `capacity` are stored; the copy runs with the GIL released.")
      .def(
          "snapshot",
          [](const MeasurementRing& r, std::optional<py::ssize_t> n) {
            const std::size_t room = snapshot_room(r, n);
            const auto len = static_cast<py::ssize_t>(room);
            Array t(len), y(len), u(len);
            const OutField out[3] = {{t.mutable_data(), 1}, {y.mutable_data(), 1}, {u.mutable_data(), 1}};
            std::size_t k;
            {
              py::gil_scoped_release release;
              k = r.snapshot(room, out);
            }
            return py::make_tuple(head_rows(t, k, room), head_rows(y, k, room), head_rows(u, k, room));
          },
          py::arg("n") = py::none(),
          "(t, offset, uncertainty): float64 arrays of the newest n records (all if None), oldest first.\n"
          "Consecutive and untorn even while another thread pushes; fewer than min(n, len) only if the\n"
          "producer overwrote the records being copied 17 times in a row (then the intact newest part).");
  counters<MeasurementRing>(meas);
  measurement_type = reinterpret_cast<PyTypeObject*>(meas.ptr());
  PyObject* push = PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(meas.ptr()), &measurement_push_def);
  if (!push) throw py::error_already_set();
  meas.attr("push") = py::reinterpret_steal<py::object>(push);

  py::class_<CovariateRing> cov(
      m, "CovariateBuffer",
      "Lock-free single-producer/single-consumer ring of (t, values[channels]) records.\n\n"
      "t: seconds; values: one float64 per channel (the number of channels is fixed at\n"
      "construction). Same overwrite and snapshot semantics as MeasurementBuffer; no\n"
      "validation of time order or finiteness.");
  cov.def(py::init([](py::ssize_t capacity, py::ssize_t channels) {
            return new CovariateRing(positive_size(capacity, "capacity"), positive_size(channels, "channels"));
          }),
          py::arg("capacity"), py::arg("channels"))
      .def_property_readonly("channels", &CovariateRing::channels)
      .def(
          "push",
          [](CovariateRing& r, double t, const Array& values) {
            check_1d(values, "values");
            const std::size_t k = r.channels();
            if (static_cast<std::size_t>(values.size()) != k)
              throw py::value_error("values has " + std::to_string(values.size()) + " entries, the buffer has " +
                                    std::to_string(k) + " channels");
            std::vector<double> record(1 + k);
            record[0] = t;
            std::copy(values.data(), values.data() + k, record.begin() + 1);
            r.push(record.data());
          },
          py::arg("t"), py::arg("values"), "Append one record: values is 1-D with one entry per channel.")
      .def(
          "push_many",
          [](CovariateRing& r, const Array& t, const Array& values) {
            check_1d(t, "t");
            const std::size_t k = r.channels(), n = static_cast<std::size_t>(t.size());
            if (values.ndim() != 2 || static_cast<std::size_t>(values.shape(0)) != n ||
                static_cast<std::size_t>(values.shape(1)) != k)
              throw py::value_error("values must have shape (len(t), channels) = (" + std::to_string(n) + ", " +
                                    std::to_string(k) + "), got " + std::string(py::str(values.attr("shape"))));
            std::vector<Field> f(1 + k);
            f[0] = {t.data(), 1};
            for (std::size_t c = 0; c < k; ++c) f[1 + c] = {values.data() + c, static_cast<std::ptrdiff_t>(k)};
            py::gil_scoped_release release;
            r.push_fields(f.data(), n);
          },
          py::arg("t"), py::arg("values"),
          "Append len(t) records: t 1-D [n], values 2-D [n, channels] (GIL released for the copy).")
      .def(
          "snapshot",
          [](const CovariateRing& r, std::optional<py::ssize_t> n) {
            const std::size_t room = snapshot_room(r, n), k = r.channels();
            Array t(static_cast<py::ssize_t>(room));
            Array v({static_cast<py::ssize_t>(room), static_cast<py::ssize_t>(k)});
            std::vector<OutField> out(1 + k);
            out[0] = {t.mutable_data(), 1};
            for (std::size_t c = 0; c < k; ++c) out[1 + c] = {v.mutable_data() + c, static_cast<std::ptrdiff_t>(k)};
            std::size_t got;
            {
              py::gil_scoped_release release;
              got = r.snapshot(room, out.data());
            }
            return py::make_tuple(head_rows(t, got, room), head_rows(v, got, room));
          },
          py::arg("n") = py::none(),
          "(t, values[n, channels]): float64 arrays of the newest n records (all if None), oldest first\n"
          "(same consistency as MeasurementBuffer.snapshot).");
  counters<CovariateRing>(cov);
}

}  // namespace chronotick::bindings
