// Resumable runs of independent units (see optim/run_checkpoint.h).
#include "hopfield/optim/run_checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "hopfield/engine/check.h"

namespace hf {

nlohmann::json json_number(double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); }

double number_from_json(const nlohmann::json& j) {
  return j.is_null() ? std::numeric_limits<double>::quiet_NaN() : j.get<double>();
}

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  HF_CHECK(fd >= 0, "write_file_atomic", "cannot create " << tmp << ": " << std::strerror(errno));
  std::size_t done = 0;
  bool ok = true;
  while (ok && done < text.size()) {
    const ssize_t w = ::write(fd, text.data() + done, text.size() - done);
    if (w < 0 && errno == EINTR) continue;
    ok = w > 0;
    if (ok) done += static_cast<std::size_t>(w);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  std::error_code ec;
  if (ok) std::filesystem::rename(tmp, path, ec);
  if (!ok || ec) {
    std::filesystem::remove(tmp, ec);
    HF_FAIL("write_file_atomic", "writing " << path << " failed");
  }
}

namespace {
nlohmann::json read_json(const std::string& path, const char* what) {
  std::ifstream f(path);
  HF_CHECK(f.good(), "checkpoint", "cannot read " << path);
  std::stringstream ss;
  ss << f.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception&) {
    HF_FAIL("checkpoint", path << " is not a valid " << what << " (damaged checkpoint directory?)");
  }
}
}  // namespace

RunCheckpoint::RunCheckpoint(std::string dir, const nlohmann::json& config, bool resume) : dir_(std::move(dir)) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  HF_CHECK(!ec && fs::is_directory(dir_), "--checkpoint-dir", "cannot create the directory " << dir_);
  const std::string run = dir_ + "/run.json";
  if (fs::exists(run)) {
    HF_CHECK(resume, "--checkpoint-dir",
             dir_ << " already holds a run: pass --resume to continue it, or choose another directory");
    const nlohmann::json saved = read_json(run, "run description");
    HF_CHECK(saved == config, "--checkpoint-dir",
             dir_ << " holds a different run (run.json differs from these settings): use another directory");
  } else {
    for (const auto& e : fs::directory_iterator(dir_))
      HF_CHECK(e.path().filename().string().find(".tmp.") != std::string::npos, "--checkpoint-dir",
               dir_ << " is not empty and has no run.json: not a checkpoint directory of this program");
    write_file_atomic(run, config.dump(2) + "\n");
  }
}

std::string RunCheckpoint::path(const std::string& unit) const { return dir_ + "/" + unit + ".json"; }

bool RunCheckpoint::has(const std::string& unit) const { return std::filesystem::exists(path(unit)); }

nlohmann::json RunCheckpoint::load(const std::string& unit) const { return read_json(path(unit), "unit result"); }

void RunCheckpoint::save(const std::string& unit, const nlohmann::json& result) const {
  write_file_atomic(path(unit), result.dump() + "\n");
}

}  // namespace hf
