// Python's repr of a float, for error messages that name a bad value the
// way the Python API does ("t[3] = nan is not finite", "... = 1760000000.5"):
// the shortest decimal that reads back to the same double, fixed notation
// with ".0" for whole numbers when the decimal exponent is in [-4, 16),
// scientific ("1e-05", "1.5e+16") otherwise.
#pragma once
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace chronotick {

inline std::string float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[40];
  for (int p = 1; p <= 17; ++p) {  // shortest round trip
    std::snprintf(buf, sizeof buf, "%.*e", p - 1, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  // buf = [-]d[.ddd]e(+|-)XX
  std::string s(buf), sign, digits;
  std::size_t i = 0;
  if (s[0] == '-') { sign = "-"; i = 1; }
  const std::size_t e = s.find('e');
  for (; i < e; ++i) if (s[i] != '.') digits += s[i];
  const int exp = std::atoi(s.c_str() + e + 1);
  const int nd = static_cast<int>(digits.size());
  if (exp >= -4 && exp < 16) {
    if (exp >= nd - 1) return sign + digits + std::string(static_cast<std::size_t>(exp - (nd - 1)), '0') + ".0";
    if (exp >= 0) return sign + digits.substr(0, static_cast<std::size_t>(exp + 1)) + "." +
                         digits.substr(static_cast<std::size_t>(exp + 1));
    return sign + "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
  }
  std::string mant = digits.substr(0, 1);
  if (nd > 1) mant += "." + digits.substr(1);
  char ex[16];
  std::snprintf(ex, sizeof ex, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
  return sign + mant + ex;
}

}  // namespace chronotick
