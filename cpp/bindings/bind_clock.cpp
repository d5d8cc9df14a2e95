// Clock read path: ClockPublisher (shared-memory writer), ClockReader (any
// process), ClockState (in-process, heap). Times are int ns of CLOCK_REALTIME;
// offset = reference - local.
#include <cerrno>
#include <cmath>
#include <system_error>
#include <memory>
#include <stdexcept>
#include <string>

#include "bindings/bindings.h"
#include "clock/clock_set_watch.h"
#include "clock/clock_state.h"
#include "clock/shm_file.h"
#include "clock/verify.h"

namespace py = pybind11;
using namespace chronotick::clock;

namespace {

// A path with an embedded NUL would be cut there by the C calls (opening another file).
void check_path(const std::string& path) {
  if (path.find('\0') != std::string::npos)
    throw std::invalid_argument("path contains an embedded null byte: " + path.substr(0, path.find('\0')) + "\\0...");
}

// TimeBound: a C struct sequence (named tuple) so building one costs little.
PyStructSequence_Field kBoundFields[] = {
    {"earliest_ns", "true time >= this, ns since the Unix epoch (-2**63 when UNKNOWN)"},
    {"latest_ns", "true time <= this, ns since the Unix epoch (2**63 - 1 when UNKNOWN)"},
    {"time_ns", "corrected time, ns since the Unix epoch; monotonic across corrections"},
    {"status", "UNKNOWN (0), SYNCHRONIZED (1) or HOLDOVER (2)"},
    {nullptr, nullptr}};
PyStructSequence_Desc kBoundDesc = {"chronotick.TimeBound",
                                    "TimeBound(earliest_ns, latest_ns, time_ns, status): corrected time and its bound.",
                                    kBoundFields, 4};
PyTypeObject* g_bound_type = nullptr;
PyObject* g_status[3] = {nullptr, nullptr, nullptr};  // set by chronotick.shm: its Status members

PyObject* make_bound(const ct_time_bound& b) {
  PyObject* o = PyStructSequence_New(g_bound_type);
  if (o == nullptr) return nullptr;
  PyObject* st;
  if (b.status >= 0 && b.status < 3 && g_status[b.status] != nullptr) {
    st = g_status[b.status];
    Py_INCREF(st);
  } else {
    st = PyLong_FromLong(b.status);
  }
  PyObject* items[4] = {PyLong_FromLongLong(b.earliest_ns), PyLong_FromLongLong(b.latest_ns),
                        PyLong_FromLongLong(b.time_ns), st};
  bool ok = true;
  for (int i = 0; i < 4; ++i) {
    if (items[i] == nullptr) ok = false;
    PyStructSequence_SetItem(o, i, items[i] != nullptr ? items[i] : (Py_INCREF(Py_None), Py_None));
  }
  if (!ok) {
    Py_DECREF(o);
    return nullptr;
  }
  return o;
}

template <class R>
py::dict snapshot_dict(const R& r) {
  int64_t t;
  unsigned retries;
  ct_clock_data d = r.snapshot(t, retries);
  uint64_t w[kWords];
  to_words(d, w);
  py::dict o;
  o["local_ns"] = t;
  o["retries"] = retries;
  o["ref_local_ns"] = d.ref_local_ns;
  o["offset_ns"] = d.offset_ns;
  o["freq"] = d.freq;
  o["bound_ns"] = d.bound_ns;
  o["growth_ns_per_s"] = d.growth_ns_per_s;
  o["slew_t0_ns"] = d.slew_t0_ns;
  o["slew_v0_ns"] = d.slew_v0_ns;
  o["slew_rate"] = d.slew_rate;
  o["heartbeat_mono_ns"] = d.heartbeat_mono_ns;
  o["heartbeat_real_ns"] = d.heartbeat_real_ns;
  o["stale_after_ns"] = d.stale_after_ns;
  o["confidence"] = d.confidence;
  o["status"] = d.status;
  o["check_ok"] = ct_checksum(w) == d.check;
  return o;
}

template <class R>
py::dict verify_dict(const R& r, uint64_t n) {
  ReadCheck c;
  {
    py::gil_scoped_release nogil;
    c = verify_reads(r, n);
  }
  py::dict o;
  o["reads"] = c.reads;
  o["torn"] = c.torn;
  o["bad_bounds"] = c.bad_bounds;
  o["backwards"] = c.backwards;
  o["retries"] = c.retries;
  o["unknown"] = c.unknown;
  return o;
}

Model make_model(int64_t ref, int64_t offset, double freq, int64_t bound, double growth, int status, double conf) {
  Model m;
  m.ref_local_ns = ref;
  m.offset_ns = offset;
  m.freq = freq;
  m.bound_ns = bound;
  m.growth_ns_per_s = growth;
  m.status = status;
  m.confidence = conf;
  return m;
}

int64_t stale_ns(double stale_after_s) {
  if (!(stale_after_s > 0 && stale_after_s < 1e9))
    throw std::invalid_argument("stale_after_s must be in (0, 1e9) seconds, got " + std::to_string(stale_after_s));
  return static_cast<int64_t>(stale_after_s * 1e9);
}

// Checked here too (as ClockWriter does) so a publisher is never set up with it.
double slew_rate(double max_slew_rate) {
  if (!(max_slew_rate > 0.0 && max_slew_rate <= 0.5))
    throw std::invalid_argument("max_slew_rate must be in (0, 0.5], got " + std::to_string(max_slew_rate));
  return max_slew_rate;
}

// now() / now_ns() as plain METH_NOARGS methods: pybind11's generic dispatch
// costs more than the read itself, and these are the calls the read path is about.
// The Python type T is bound as (set where the methods are added).
template <class T>
PyTypeObject*& bound_type() {
  static PyTypeObject* type = nullptr;
  return type;
}

template <class T>
T* self_ptr(PyObject* self) {
  T* obj = chronotick::bindings::bound_self<T>(self, bound_type<T>());
  if (obj == nullptr) PyErr_SetString(PyExc_TypeError, "uninitialised clock object (__init__ was not called)");
  return obj;
}

template <class T>
PyObject* fast_now_ns(PyObject* self, PyObject*) {
  T* obj = self_ptr<T>(self);
  return obj == nullptr ? nullptr : PyLong_FromLongLong(static_cast<long long>(obj->now().time_ns));
}

template <class T>
PyObject* fast_now(PyObject* self, PyObject*) {
  T* obj = self_ptr<T>(self);
  return obj == nullptr ? nullptr : make_bound(obj->now());
}

template <class T>
void add_method(py::class_<T>& cls, PyMethodDef* def) {
  bound_type<T>() = reinterpret_cast<PyTypeObject*>(cls.ptr());
  PyObject* descr = PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(cls.ptr()), def);
  if (descr == nullptr) throw py::error_already_set();
  int rc = PyObject_SetAttrString(cls.ptr(), def->ml_name, descr);
  Py_DECREF(descr);
  if (rc != 0) throw py::error_already_set();
}

#define CT_NOW_DOC "now() -> TimeBound(earliest_ns, latest_ns, time_ns, status), ns since the Unix epoch."
#define CT_NOW_NS_DOC "now_ns() -> int: corrected time, ns since the Unix epoch."
PyMethodDef kReaderNow = {"now", fast_now<ShmReader>, METH_NOARGS, CT_NOW_DOC};
PyMethodDef kReaderNowNs = {"now_ns", fast_now_ns<ShmReader>, METH_NOARGS, CT_NOW_NS_DOC};
PyMethodDef kStateNow = {"now", fast_now<ClockState>, METH_NOARGS, CT_NOW_DOC};
PyMethodDef kStateNowNs = {"now_ns", fast_now_ns<ClockState>, METH_NOARGS, CT_NOW_NS_DOC};

const char* kPublishDoc =
    "publish(ref_local_ns, offset_ns, freq, bound_ns, growth_ns_per_s, status, confidence=0.95)\n"
    "Publish the model: time(t) = t + offset_ns + freq * (t - ref_local_ns), bound half-width\n"
    "bound_ns + growth_ns_per_s * (t - ref_local_ns) / 1e9 (t, ref: CLOCK_REALTIME ns; offset = reference - local;\n"
    "freq dimensionless, + = local clock slow). status: 0 UNKNOWN, 1 SYNCHRONIZED, 2 HOLDOVER. Backward\n"
    "corrections are slewed at max_slew_rate so time_ns stays monotonic.";

}  // namespace

namespace chronotick::bindings {
namespace {

// A file name (or a message holding one) as Python's os.fsdecode gives it.
py::object fs_str(const std::string& s) {
  PyObject* o = PyUnicode_DecodeFSDefaultAndSize(s.data(), static_cast<Py_ssize_t>(s.size()));
  if (o == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(o);
}

// A failed system call as OSError(errno, "call: reason"): the message names the call.
[[noreturn]] void throw_os_error(const std::system_error& e) {
  py::object err = py::module_::import("builtins").attr("OSError")(e.code().value(), e.what());
  PyErr_SetObject(PyExc_OSError, err.ptr());
  throw py::error_already_set();
}

}  // namespace

void bind_clock(py::module_& m) {
  static py::exception<ShmError> unused(m, "_ShmErrorBase");  // never raised as such; see translator
  (void)unused;
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ShmError& e) {
      // The message names the path, which need not be UTF-8: decoded as the OS
      // decodes file names (undecodable bytes as surrogates), never a UnicodeDecodeError.
      py::object msg = fs_str(e.what());
      if (e.code == CT_ERR_OPEN) {
        py::object err = py::module_::import("builtins").attr("OSError")(e.sys_errno, msg);
        PyErr_SetObject(PyExc_OSError, err.ptr());
      } else {
        PyErr_SetObject(PyExc_ValueError, msg.ptr());
      }
    }
  });
  if (g_bound_type == nullptr) {
    g_bound_type = PyStructSequence_NewType(&kBoundDesc);
    if (g_bound_type == nullptr) throw py::error_already_set();
  }
  m.attr("TimeBound") = py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject*>(g_bound_type));
  m.def("_set_clock_status_objects", [](py::tuple t) {
    if (t.size() != 3) throw std::invalid_argument("need (UNKNOWN, SYNCHRONIZED, HOLDOVER)");
    for (int i = 0; i < 3; ++i) {
      PyObject* o = t[static_cast<size_t>(i)].ptr();
      Py_INCREF(o);  // kept for the module's lifetime
      Py_XDECREF(g_status[i]);
      g_status[i] = o;
    }
  }, "Objects TimeBound.status takes for 0, 1, 2 (chronotick.shm passes its Status members).");
  m.attr("CLOCK_UNKNOWN") = CT_UNKNOWN;
  m.attr("CLOCK_SYNCHRONIZED") = CT_SYNCHRONIZED;
  m.attr("CLOCK_HOLDOVER") = CT_HOLDOVER;
  m.attr("CLOCK_LAYOUT_VERSION") = py::make_tuple(CT_VERSION_MAJOR, CT_VERSION_MINOR);

  py::class_<ShmPublisher>(m, "ClockPublisher",
                           "Writer of the shared-memory clock file at `path` (mode 0644; one publisher per path).")
      .def(py::init([](const std::string& path, double stale_after_s, double max_slew_rate, bool adopt) {
             check_path(path);
             const int64_t stale = stale_ns(stale_after_s);
             const double slew = slew_rate(max_slew_rate);
             // the directory lock may be waited for (up to 5 s, shm_file.cpp): other Python
             // threads run meanwhile (a review found them all paused)
             py::gil_scoped_release unlocked;
             return std::make_unique<ShmPublisher>(path, stale, slew, adopt);
           }),
           py::arg("path"), py::arg("stale_after_s") = 10.0, py::arg("max_slew_rate") = 5e-4, py::arg("adopt") = true,
           "adopt: take over the model a gone publisher left in the file (this boot, within the hour, no step of "
           "the local clock since), so time_ns does not go back across a restart.")
      .def("publish",
           [](ShmPublisher& p, int64_t ref, int64_t off, double freq, int64_t bound, double growth, int status,
              double conf) {
             if (p.closed()) throw std::invalid_argument("ClockPublisher is closed");
             p.writer().publish(make_model(ref, off, freq, bound, growth, status, conf));
           },
           py::arg("ref_local_ns"), py::arg("offset_ns"), py::arg("freq"), py::arg("bound_ns"),
           py::arg("growth_ns_per_s"), py::arg("status"), py::arg("confidence") = 0.95, kPublishDoc)
      .def("heartbeat", [](ShmPublisher& p) {
             if (p.closed()) throw std::invalid_argument("ClockPublisher is closed");
             p.writer().heartbeat();
           }, "Refresh the heartbeat without changing the model.")
      .def("close", &ShmPublisher::close, "Mark the clock UNKNOWN and release the file (it stays for readers).")
      .def_property_readonly("path", [](const ShmPublisher& p) { return fs_str(p.path()); })
      .def_property_readonly("publishes", [](ShmPublisher& p) { return p.closed() ? 0 : p.writer().publishes(); })
      .def_property_readonly("adopted", &ShmPublisher::adopted,
                             "Whether it took over the model of the file's earlier writer (ClockWriter::adopt).")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](ShmPublisher& p, py::args) { p.close(); });

  py::class_<ClockSetWatch>(m, "ClockSetWatch",
                            "Wakes when CLOCK_REALTIME is set (stepped) -- Linux timerfd TFD_TIMER_CANCEL_ON_SET -- "
                            "or when interrupt() is called; OSError where it cannot be made (not Linux).")
      .def(py::init([]() {
        try {
          return std::make_unique<ClockSetWatch>();
        } catch (const std::system_error& e) {
          throw_os_error(e);
        }
      }))
      .def("wait",
           [](ClockSetWatch& w, double timeout_s) {
             if (!std::isfinite(timeout_s)) throw std::invalid_argument("timeout_s must be finite");
             ClockSetWatch::Result r = ClockSetWatch::kTimeout;
             try {
               py::gil_scoped_release nogil;
               r = w.wait(timeout_s);
             } catch (const std::system_error& e) {
               throw_os_error(e);  // re-arming the timer failed
             }
             return static_cast<int>(r);
           },
           py::arg("timeout_s"),
           "Block up to timeout_s seconds (GIL released): 1 if the clock was set, 2 if interrupt() was "
           "called, 0 at the timeout.")
      .def("interrupt", &ClockSetWatch::interrupt, "End the wait in progress (from any thread), or else the next one.");
  m.attr("clock_set_watch_available") = ClockSetWatch::available();

  py::class_<ShmReader> reader(m, "ClockReader", "Read-only view of a shared-memory clock file (any process).");
  reader.def(py::init([](const std::string& path) {
                check_path(path);
                return std::make_unique<ShmReader>(path);
              }),
              py::arg("path"))
      .def("snapshot", [](const ShmReader& r) { return snapshot_dict(r); }, "All published fields (one read).")
      .def("_verify_reads", [](const ShmReader& r, uint64_t n) { return verify_dict(r, n); }, py::arg("n"),
           "Test support: n reads in C++ (GIL released), counting torn/inconsistent/backwards reads.")
      .def_property_readonly("writer_pid", &ShmReader::writer_pid)
      .def_property_readonly("version_minor", &ShmReader::version_minor)
      .def_property_readonly("path", [](const ShmReader& r) { return fs_str(r.path()); });
  add_method(reader, &kReaderNow);
  add_method(reader, &kReaderNowNs);

  py::class_<ClockState> state(m, "ClockState", "The clock model in this process's memory (same seqlock as the file).");
  state.def(py::init([](double stale_after_s, double max_slew_rate) {
             return std::make_unique<ClockState>(stale_ns(stale_after_s), slew_rate(max_slew_rate));
           }),
           py::arg("stale_after_s") = 10.0, py::arg("max_slew_rate") = 5e-4)
      .def("publish",
           [](ClockState& s, int64_t ref, int64_t off, double freq, int64_t bound, double growth, int status,
              double conf) { s.writer().publish(make_model(ref, off, freq, bound, growth, status, conf)); },
           py::arg("ref_local_ns"), py::arg("offset_ns"), py::arg("freq"), py::arg("bound_ns"),
           py::arg("growth_ns_per_s"), py::arg("status"), py::arg("confidence") = 0.95, kPublishDoc)
      .def("publish_at",
           [](ClockState& s, int64_t now, int64_t ref, int64_t off, double freq, int64_t bound, double growth,
              int status, double conf) {
             // < 0 is publish_at's "read the clock now"; not for callers (0 and > 2**62: publish_at's check)
             if (now < 0) throw std::invalid_argument("now_ns must be in (0, 2**62], got " + std::to_string(now));
             s.writer().publish_at(make_model(ref, off, freq, bound, growth, status, conf), now);
           },
           py::arg("now_ns"), py::arg("ref_local_ns"), py::arg("offset_ns"), py::arg("freq"), py::arg("bound_ns"),
           py::arg("growth_ns_per_s"), py::arg("status"), py::arg("confidence") = 0.95,
           "publish() at an explicit local time now_ns (slew start, heartbeat): for replays on a simulated clock.")
      .def("now_at",
           [](const ClockState& s, int64_t t) {
             PyObject* o = make_bound(s.now_at(t));
             if (o == nullptr) throw py::error_already_set();
             return py::reinterpret_steal<py::object>(o);
           },
           py::arg("local_ns"),
           "(earliest_ns, latest_ns, time_ns, status) the published model gives at local time local_ns.")
      .def("heartbeat", [](ClockState& s) { s.writer().heartbeat(); })
      .def("snapshot", [](const ClockState& s) { return snapshot_dict(s); }, "All published fields (one read).")
      .def("_verify_reads", [](const ClockState& s, uint64_t n) { return verify_dict(s, n); }, py::arg("n"),
           "Test support: n reads in C++ (GIL released), counting torn/inconsistent/backwards reads.");
  add_method(state, &kStateNow);
  add_method(state, &kStateNowNs);
}

}  // namespace chronotick::bindings
