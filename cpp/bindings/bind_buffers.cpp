#include "bindings/bindings.h"

namespace chronotick::bindings {
void bind_buffers(pybind11::module_& m) { (void)m; }
}  // namespace chronotick::bindings
