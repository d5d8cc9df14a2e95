#pragma once
namespace chronotick {
// Version of the C++ core, compared with the Python package's at import.
const char* core_version();
}  // namespace chronotick
