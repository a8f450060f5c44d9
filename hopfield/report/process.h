// Resource readings of the running process for the programs' and benchmarks' reports (Linux /proc).
#pragma once

#include <string>

namespace hf {

// Peak resident set size in MiB (VmHWM of /proc/self/status); -1 when it cannot be read.
double peak_rss_mb();
// Current resident set size in MiB (VmRSS); -1 when it cannot be read.
double current_rss_mb();
// Resets the peak to the current resident set (writes 5 to /proc/self/clear_refs, Linux >= 4.0), so that
// a later peak_rss_mb() is the peak of what ran in between. False when the kernel refuses.
bool reset_peak_rss();
// The machine's load averages over 1, 5 and 15 minutes as /proc/loadavg gives them ("0.52 0.61 0.70"), or
// "unknown": a timing taken under load says so.
std::string load_average();

}  // namespace hf
