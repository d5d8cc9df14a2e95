// A model's raw answer before calibration: mean and standard deviation of
// the predicted measurement at each target time.
#pragma once
#include <string>
#include <vector>

namespace chronotick {

struct Gaussian {
  std::vector<double> mean;
  std::vector<double> sigma;
  bool ok = true;
  std::string note;
};

inline Gaussian failed(std::string why) {
  Gaussian g;
  g.ok = false;
  g.note = std::move(why);
  return g;
}

}  // namespace chronotick
