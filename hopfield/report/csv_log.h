// A per-epoch metrics log: CSV with a fixed header, one flushed row per call.
//
//   CsvLogger log("run/metrics.csv", {"epoch", "train_loss", "val_auc", "lr"});
//   log.row({epoch, loss, auc, lr});
#pragma once

#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace hf {

// One header line, then one row per call, flushed at once (a crash loses at most the current row).
// Values are written with 17 significant digits so they read back exactly.
class CsvLogger {
 public:
  // append: keep an existing file whose header equals `columns` (resuming a run); otherwise truncate.
  CsvLogger(const std::string& path, std::vector<std::string> columns, bool append = false);
  void row(const std::vector<double>& values);
  void row(const std::map<std::string, double>& values);  // every column must be present
  const std::vector<std::string>& columns() const { return columns_; }

 private:
  std::string path_;
  std::vector<std::string> columns_;
  std::ofstream out_;
};

}  // namespace hf
