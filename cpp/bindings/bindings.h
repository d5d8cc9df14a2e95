// Each concern binds itself in its own file; module.cpp only calls them.
#pragma once
#include <pybind11/pybind11.h>

namespace chronotick::bindings {

void bind_buffers(pybind11::module_& m);
void bind_windowing(pybind11::module_& m);
void bind_models(pybind11::module_& m);
void bind_clock(pybind11::module_& m);
}  // namespace chronotick::bindings
