#include "bindings/bindings.h"

namespace chronotick::bindings {
void bind_models(pybind11::module_& m) { (void)m; }
}  // namespace chronotick::bindings
