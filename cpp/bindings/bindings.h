// Each concern binds itself in its own file; module.cpp only calls them.
#pragma once
#include <pybind11/pybind11.h>

#include <cstddef>
#include <string>

#include "windowing/float_repr.h"

namespace chronotick::bindings {

// Quantile levels given to the core: probabilities, strictly increasing (the
// sigma, the fusion and the conformal factors interpolate between them).
inline void check_levels_increasing(const double* levels, std::size_t n) {
  for (std::size_t l = 0; l < n; ++l)
    if (!(levels[l] > 0.0 && levels[l] < 1.0) || (l > 0 && !(levels[l] > levels[l - 1])))
      throw pybind11::value_error("levels must be strictly increasing in (0, 1): levels[" + std::to_string(l) +
                                  "] = " + float_repr(levels[l]));
}

void bind_buffers(pybind11::module_& m);
void bind_windowing(pybind11::module_& m);
void bind_models(pybind11::module_& m);
void bind_clock(pybind11::module_& m);
}  // namespace chronotick::bindings
