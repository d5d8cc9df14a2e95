#include "bindings/bindings.h"
#include "common/build_info.h"

PYBIND11_MODULE(_core, m) {
  m.doc() = "chronotick C++ core: buffers -> windowing -> models -> fusion -> clock";
  m.attr("__version__") = chronotick::core_version();
  chronotick::bindings::bind_buffers(m);
  chronotick::bindings::bind_windowing(m);
  chronotick::bindings::bind_models(m);
  chronotick::bindings::bind_clock(m);
}
