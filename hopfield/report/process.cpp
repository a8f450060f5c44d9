// Resource readings from /proc/self (see process.h).
#include "hopfield/report/process.h"

#include <fstream>
#include <string>

namespace hf {

namespace {
// A "Key:   123 kB" line of /proc/self/status in MiB; -1 when absent.
double status_mb(const std::string& key) {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size())) / 1024.0;
  return -1;
}
}  // namespace

double peak_rss_mb() { return status_mb("VmHWM:"); }
double current_rss_mb() { return status_mb("VmRSS:"); }

bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  if (!(f >> a >> b >> c)) return "unknown";
  return a + " " + b + " " + c;
}

}  // namespace hf
