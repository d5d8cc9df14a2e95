#include "common/build_info.h"
namespace chronotick {
const char* core_version() { return "0.1.0"; }
}  // namespace chronotick
