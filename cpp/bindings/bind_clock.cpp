// Clock read path: ClockPublisher (shared-memory writer), ClockReader (any
// process), ClockState (in-process, heap). Times are int ns of CLOCK_REALTIME;
// offset = reference - local.
#include <cerrno>

#include "bindings/bindings.h"
#include "clock/clock_state.h"
#include "clock/shm_file.h"
#include "clock/verify.h"

namespace py = pybind11;
using namespace chronotick::clock;

namespace {

py::tuple bound_tuple(const ct_time_bound& b) { return py::make_tuple(b.earliest_ns, b.latest_ns, b.time_ns, b.status); }

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

const char* kPublishDoc =
    "publish(ref_local_ns, offset_ns, freq, bound_ns, growth_ns_per_s, status, confidence=0.95)\n"
    "Publish the model: time(t) = t + offset_ns + freq * (t - ref_local_ns), bound half-width\n"
    "bound_ns + growth_ns_per_s * (t - ref_local_ns) / 1e9 (t, ref: CLOCK_REALTIME ns; offset = reference - local;\n"
    "freq dimensionless, + = local clock slow). status: 0 UNKNOWN, 1 SYNCHRONIZED, 2 HOLDOVER. Backward\n"
    "corrections are slewed at max_slew_rate so time_ns stays monotonic.";

}  // namespace

namespace chronotick::bindings {

void bind_clock(py::module_& m) {
  static py::exception<ShmError> unused(m, "_ShmErrorBase");  // never raised as such; see translator
  (void)unused;
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ShmError& e) {
      if (e.code == CT_ERR_OPEN) {
        py::object err = py::module_::import("builtins").attr("OSError")(e.sys_errno, e.what());
        PyErr_SetObject(PyExc_OSError, err.ptr());
      } else {
        PyErr_SetString(PyExc_ValueError, e.what());
      }
    }
  });
  m.attr("CLOCK_UNKNOWN") = CT_UNKNOWN;
  m.attr("CLOCK_SYNCHRONIZED") = CT_SYNCHRONIZED;
  m.attr("CLOCK_HOLDOVER") = CT_HOLDOVER;
  m.attr("CLOCK_LAYOUT_VERSION") = py::make_tuple(CT_VERSION_MAJOR, CT_VERSION_MINOR);

  py::class_<ShmPublisher>(m, "ClockPublisher",
                           "Writer of the shared-memory clock file at `path` (mode 0644; one publisher per path).")
      .def(py::init([](const std::string& path, double stale_after_s, double max_slew_rate) {
             return std::make_unique<ShmPublisher>(path, stale_ns(stale_after_s), max_slew_rate);
           }),
           py::arg("path"), py::arg("stale_after_s") = 10.0, py::arg("max_slew_rate") = 5e-4)
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
      .def_property_readonly("path", &ShmPublisher::path)
      .def_property_readonly("publishes", [](ShmPublisher& p) { return p.closed() ? 0 : p.writer().publishes(); })
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](ShmPublisher& p, py::args) { p.close(); });

  py::class_<ShmReader>(m, "ClockReader", "Read-only view of a shared-memory clock file (any process).")
      .def(py::init<const std::string&>(), py::arg("path"))
      .def("now", [](ShmReader& r) { return bound_tuple(r.now()); },
           "(earliest_ns, latest_ns, time_ns, status): corrected CLOCK_REALTIME ns and its bound.")
      .def("now_ns", [](ShmReader& r) { return r.now().time_ns; }, "Corrected time, ns since the Unix epoch.")
      .def("snapshot", [](const ShmReader& r) { return snapshot_dict(r); }, "All published fields (one read).")
      .def("_verify_reads", [](const ShmReader& r, uint64_t n) { return verify_dict(r, n); }, py::arg("n"),
           "Test support: n reads in C++ (GIL released), counting torn/inconsistent/backwards reads.")
      .def_property_readonly("writer_pid", &ShmReader::writer_pid)
      .def_property_readonly("version_minor", &ShmReader::version_minor)
      .def_property_readonly("path", &ShmReader::path);

  py::class_<ClockState>(m, "ClockState", "The clock model in this process's memory (same seqlock as the file).")
      .def(py::init([](double stale_after_s, double max_slew_rate) {
             return std::make_unique<ClockState>(stale_ns(stale_after_s), max_slew_rate);
           }),
           py::arg("stale_after_s") = 10.0, py::arg("max_slew_rate") = 5e-4)
      .def("publish",
           [](ClockState& s, int64_t ref, int64_t off, double freq, int64_t bound, double growth, int status,
              double conf) { s.writer().publish(make_model(ref, off, freq, bound, growth, status, conf)); },
           py::arg("ref_local_ns"), py::arg("offset_ns"), py::arg("freq"), py::arg("bound_ns"),
           py::arg("growth_ns_per_s"), py::arg("status"), py::arg("confidence") = 0.95, kPublishDoc)
      .def("heartbeat", [](ClockState& s) { s.writer().heartbeat(); })
      .def("now", [](const ClockState& s) { return bound_tuple(s.now()); },
           "(earliest_ns, latest_ns, time_ns, status): corrected CLOCK_REALTIME ns and its bound.")
      .def("now_ns", [](const ClockState& s) { return s.now().time_ns; }, "Corrected time, ns since the Unix epoch.")
      .def("snapshot", [](const ClockState& s) { return snapshot_dict(s); }, "All published fields (one read).")
      .def("_verify_reads", [](const ClockState& s, uint64_t n) { return verify_dict(s, n); }, py::arg("n"),
           "Test support: n reads in C++ (GIL released), counting torn/inconsistent/backwards reads.");
}

}  // namespace chronotick::bindings
