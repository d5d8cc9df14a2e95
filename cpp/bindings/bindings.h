// Each concern binds itself in its own file; module.cpp only calls them.
#pragma once
#include <pybind11/pybind11.h>

namespace chronotick::bindings {

void bind_buffers(pybind11::module_& m);
void bind_windowing(pybind11::module_& m);
void bind_models(pybind11::module_& m);
void bind_clock(pybind11::module_& m);

// The C++ object of `self` for the raw (PyDescr_NewMethod) fast methods, or nullptr where
// there is none (__new__ without __init__). `exact`: the Python type T is bound as; for it
// the value comes first in pybind11's simple layout. For a Python subclass, perhaps of
// several bound classes, T's own value is looked up by its type: the first base's value
// taken as a T had crashed now() on a subclass of (MeasurementBuffer, ClockState), and an
// unconstructed one push() (a static analysis, 2026-12-06).
template <class T>
T* bound_self(PyObject* self, PyTypeObject* exact) {
  auto* inst = reinterpret_cast<pybind11::detail::instance*>(self);
  pybind11::detail::value_and_holder v_h =
      Py_TYPE(self) == exact ? inst->get_value_and_holder()
                             : inst->get_value_and_holder(pybind11::detail::get_type_info(typeid(T)),
                                                          /*throw_if_missing=*/false);
  // no holder: pybind11 may still have allocated raw, unconstructed value memory
  return v_h && v_h.holder_constructed() ? v_h.template value_ptr<T>() : nullptr;
}
}  // namespace chronotick::bindings
