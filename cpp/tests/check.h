// A minimal test harness: CHECK(cond) records failures, run() reports
// "N passed, N failed" and the exit status. No dependencies, so the tests
// build anywhere the core builds (including sanitizer builds).
#pragma once
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace check {

struct Case { const char* name; std::function<void()> fn; };
inline std::vector<Case>& cases() { static std::vector<Case> c; return c; }
inline int& failures() { static int f = 0; return f; }

struct Register { Register(const char* n, std::function<void()> f) { cases().push_back({n, std::move(f)}); } };

inline int run() {
  int passed = 0, failed = 0;
  for (auto& c : cases()) {
    int before = failures();
    c.fn();
    if (failures() == before) ++passed; else { ++failed; std::printf("FAILED %s\n", c.name); }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace check

#define CT_CAT2(a, b) a##b
#define CT_CAT(a, b) CT_CAT2(a, b)
#define TEST(name) \
  static void name(); \
  static check::Register CT_CAT(reg_, name)(#name, name); \
  static void name()
#define CHECK(cond) \
  do { if (!(cond)) { ++check::failures(); std::printf("  %s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_NEAR(a, b, tol) \
  do { double _a = (a), _b = (b); if (!(std::fabs(_a - _b) <= (tol))) { ++check::failures(); \
    std::printf("  %s:%d: CHECK_NEAR(%s, %s): %.17g vs %.17g\n", __FILE__, __LINE__, #a, #b, _a, _b); } } while (0)
#define TEST_MAIN() int main() { return check::run(); }
