// SVG line plots, heatmaps and image grids, and CSV tables, written as plain text (see plot.h).
// Coordinates: data (x, y) -> screen (px, py) through an affine (or log10) map into the plot frame;
// screen y grows downwards, so the map flips y.
#include "hopfield/report/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "hopfield/engine/check.h"

namespace hf {

namespace {

// matplotlib's tab10 palette: distinct in print and for common colour-vision deficiencies.
const char* const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string num(double v, int digits = 4) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

// Screen coordinates with two decimals keep files small and exact enough.
std::string coord(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// One axis: data range and the map onto [p0, p1] in screen pixels.
struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  double p0 = 0, p1 = 1;
  double t(double v) const { return log ? std::log10(v) : v; }
  double map(double v) const {
    double a = t(lo), b = t(hi);
    return p0 + (t(v) - a) / (b - a) * (p1 - p0);
  }
};

bool usable(double v, bool log) { return std::isfinite(v) && (!log || v > 0); }

// Widens a degenerate range and, for linear axes, pads it a little so lines do not touch the frame.
void finish_range(Axis& ax, bool pad) {
  if (!(ax.lo < ax.hi)) {
    if (ax.log) {
      ax.lo /= 10;
      ax.hi *= 10;
    } else {
      double w = ax.lo == 0 ? 1.0 : std::abs(ax.lo) * 0.1;
      ax.lo -= w;
      ax.hi += w;
    }
    return;
  }
  if (pad && !ax.log) {
    double w = (ax.hi - ax.lo) * 0.04;
    ax.lo -= w;
    ax.hi += w;
  }
}

// Tick positions: 1-2-5 steps on linear axes, decades (plus 2 and 5 when the range is short) on log axes.
std::vector<double> ticks(const Axis& ax) {
  std::vector<double> out;
  if (ax.log) {
    int a = static_cast<int>(std::floor(std::log10(ax.lo))), b = static_cast<int>(std::ceil(std::log10(ax.hi)));
    int stride = std::max(1, (b - a) / 8);
    const bool fine = b - a <= 2;
    for (int k = a; k <= b; k += stride)
      for (double m : {1.0, 2.0, 5.0}) {
        if (m != 1.0 && !fine) continue;
        double v = m * std::pow(10.0, k);
        if (v >= ax.lo * (1 - 1e-12) && v <= ax.hi * (1 + 1e-12)) out.push_back(v);
      }
    return out;
  }
  double span = ax.hi - ax.lo;
  double raw = span / 6;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  for (double v = std::ceil(ax.lo / step) * step; v <= ax.hi + step * 1e-9; v += step)
    out.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return out;
}

std::string text(double x, double y, const std::string& s, const char* anchor = "middle", int size = 12,
                 const std::string& extra = "") {
  return "<text x=\"" + coord(x) + "\" y=\"" + coord(y) + "\" font-size=\"" + std::to_string(size) +
         "\" text-anchor=\"" + anchor + "\"" + extra + ">" + xml_escape(s) + "</text>\n";
}

std::string svg_open(double w, double h) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + coord(w) + "\" height=\"" + coord(h) +
         "\" viewBox=\"0 0 " + coord(w) + " " + coord(h) + "\" font-family=\"sans-serif\">\n" +
         "<rect x=\"0\" y=\"0\" width=\"" + coord(w) + "\" height=\"" + coord(h) + "\" fill=\"white\"/>\n";
}

// Viridis sampled at 9 points and interpolated linearly (close to the original to the eye).
std::string viridis(double t) {
  static const double c[9][3] = {{68, 1, 84},    {71, 44, 122},  {59, 81, 139},  {44, 113, 142}, {33, 144, 141},
                                 {39, 173, 129}, {92, 200, 99},  {170, 220, 50}, {253, 231, 37}};
  if (!std::isfinite(t)) return "#ff00ff";  // NaN shows as magenta, impossible to miss
  t = std::clamp(t, 0.0, 1.0) * 8;
  int i = std::min(7, static_cast<int>(t));
  double f = t - i;
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", static_cast<int>(std::lround(c[i][0] + f * (c[i + 1][0] - c[i][0]))),
                static_cast<int>(std::lround(c[i][1] + f * (c[i + 1][1] - c[i][1]))),
                static_cast<int>(std::lround(c[i][2] + f * (c[i + 1][2] - c[i][2]))));
  return buf;
}

std::string gray(int v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", v, v, v);
  return buf;
}

}  // namespace

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

void write_text_file(const std::string& path, const std::string& contents) {
  namespace fs = std::filesystem;
  fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  HF_CHECK(!ec, "write_text_file", "cannot create the folder of " << path << ": " << ec.message());
  std::ofstream f(path, std::ios::binary);
  HF_CHECK(f.good(), "write_text_file", "cannot open " << path << " for writing");
  f << contents;
  f.close();
  HF_CHECK(f.good(), "write_text_file", "writing " << path << " failed");
}

// ----- line plots -----

LinePlot::LinePlot(PlotOptions options) : options_(std::move(options)) {
  HF_CHECK(options_.width() >= 200 && options_.height() >= 150, "LinePlot",
           "width/height " << options_.width() << "x" << options_.height() << " too small (min 200x150)");
}

LinePlot& LinePlot::line(const std::string& label, const std::vector<double>& x, const std::vector<double>& y,
                         LineStyle style) {
  HF_CHECK(x.size() == y.size(), "LinePlot::line",
           "series '" << label << "': x has " << x.size() << " points, y has " << y.size());
  if (style.color().empty()) style.color(kPalette[series_.size() % 10]);
  series_.push_back({label, x, y, style});
  return *this;
}

LinePlot& LinePlot::hline(const std::string& label, double y, LineStyle style) {
  if (style.color().empty()) style.color("#444444");
  rules_.push_back({label, y, false, style});
  return *this;
}

LinePlot& LinePlot::vline(const std::string& label, double x, LineStyle style) {
  if (style.color().empty()) style.color("#444444");
  rules_.push_back({label, x, true, style});
  return *this;
}

std::string LinePlot::svg() const {
  const double W = static_cast<double>(options_.width()), H = static_cast<double>(options_.height());
  const double left = 72, right = 18, top = options_.title().empty() ? 18 : 38, bottom = 52;
  Axis ax, ay;
  ax.log = options_.log_x();
  ay.log = options_.log_y();
  ax.lo = ay.lo = INFINITY;
  ax.hi = ay.hi = -INFINITY;
  for (const auto& s : series_)
    for (std::size_t i = 0; i < s.x.size(); ++i)
      if (usable(s.x[i], ax.log) && usable(s.y[i], ay.log)) {
        ax.lo = std::min(ax.lo, s.x[i]);
        ax.hi = std::max(ax.hi, s.x[i]);
        ay.lo = std::min(ay.lo, s.y[i]);
        ay.hi = std::max(ay.hi, s.y[i]);
      }
  for (const auto& r : rules_) {
    Axis& a = r.vertical ? ax : ay;
    if (usable(r.at, a.log)) {
      a.lo = std::min(a.lo, r.at);
      a.hi = std::max(a.hi, r.at);
    }
  }
  for (Axis* a : {&ax, &ay})
    if (!std::isfinite(a->lo)) {  // no usable point at all: an empty unit frame
      a->lo = a->log ? 1 : 0;
      a->hi = a->log ? 10 : 1;
    }
  if (options_.ymin() && usable(*options_.ymin(), ay.log)) ay.lo = *options_.ymin();
  if (options_.ymax() && usable(*options_.ymax(), ay.log)) ay.hi = *options_.ymax();
  finish_range(ax, false);
  finish_range(ay, !options_.ymin() && !options_.ymax());
  ax.p0 = left;
  ax.p1 = W - right;
  ay.p0 = H - bottom;
  ay.p1 = top;

  std::ostringstream o;
  o << svg_open(W, H);
  if (!options_.title().empty()) o << text(W / 2, 24, options_.title(), "middle", 15, " font-weight=\"bold\"");
  // Grid and ticks.
  for (double v : ticks(ax)) {
    double p = ax.map(v);
    o << "<line x1=\"" << coord(p) << "\" y1=\"" << coord(top) << "\" x2=\"" << coord(p) << "\" y2=\""
      << coord(H - bottom) << "\" stroke=\"#e5e5e5\"/>\n";
    o << text(p, H - bottom + 16, num(v));
  }
  for (double v : ticks(ay)) {
    double p = ay.map(v);
    o << "<line x1=\"" << coord(left) << "\" y1=\"" << coord(p) << "\" x2=\"" << coord(W - right) << "\" y2=\""
      << coord(p) << "\" stroke=\"#e5e5e5\"/>\n";
    o << text(left - 6, p + 4, num(v), "end");
  }
  o << "<rect x=\"" << coord(left) << "\" y=\"" << coord(top) << "\" width=\"" << coord(W - left - right)
    << "\" height=\"" << coord(H - top - bottom) << "\" fill=\"none\" stroke=\"black\"/>\n";
  if (!options_.xlabel().empty()) o << text((left + W - right) / 2, H - 12, options_.xlabel(), "middle", 13);
  if (!options_.ylabel().empty()) {
    double cy = (top + H - bottom) / 2;
    o << text(16, cy, options_.ylabel(), "middle", 13, " transform=\"rotate(-90 16 " + coord(cy) + ")\"");
  }
  // Data, clipped to the frame.
  o << "<clipPath id=\"frame\"><rect x=\"" << coord(left) << "\" y=\"" << coord(top) << "\" width=\""
    << coord(W - left - right) << "\" height=\"" << coord(H - top - bottom) << "\"/></clipPath>\n";
  o << "<g clip-path=\"url(#frame)\">\n";
  auto stroke = [](const LineStyle& st) {
    std::string s = " stroke=\"" + st.color() + "\" stroke-width=\"" + num(st.width()) + "\"";
    if (st.dashed()) s += " stroke-dasharray=\"6 4\"";
    return s;
  };
  for (const auto& r : rules_) {
    if (!usable(r.at, r.vertical ? ax.log : ay.log)) continue;
    if (r.vertical)
      o << "<line x1=\"" << coord(ax.map(r.at)) << "\" y1=\"" << coord(top) << "\" x2=\"" << coord(ax.map(r.at))
        << "\" y2=\"" << coord(H - bottom) << "\"" << stroke(r.style) << "/>\n";
    else
      o << "<line x1=\"" << coord(left) << "\" y1=\"" << coord(ay.map(r.at)) << "\" x2=\"" << coord(W - right)
        << "\" y2=\"" << coord(ay.map(r.at)) << "\"" << stroke(r.style) << "/>\n";
  }
  for (const auto& s : series_) {
    if (s.style.line()) {
      std::string pts;  // one polyline per run of usable points
      auto flush = [&] {
        if (!pts.empty()) o << "<polyline fill=\"none\"" << stroke(s.style) << " points=\"" << pts << "\"/>\n";
        pts.clear();
      };
      for (std::size_t i = 0; i < s.x.size(); ++i) {
        if (!usable(s.x[i], ax.log) || !usable(s.y[i], ay.log)) {
          flush();
          continue;
        }
        if (!pts.empty()) pts += ' ';
        pts += coord(ax.map(s.x[i])) + "," + coord(ay.map(s.y[i]));
      }
      flush();
    }
    if (s.style.markers())
      for (std::size_t i = 0; i < s.x.size(); ++i)
        if (usable(s.x[i], ax.log) && usable(s.y[i], ay.log))
          o << "<circle cx=\"" << coord(ax.map(s.x[i])) << "\" cy=\"" << coord(ay.map(s.y[i]))
            << "\" r=\"2.6\" fill=\"" << s.style.color() << "\"/>\n";
  }
  o << "</g>\n";
  // Legend in the top-right corner.
  std::vector<std::pair<std::string, LineStyle>> entries;
  for (const auto& s : series_)
    if (!s.label.empty()) entries.emplace_back(s.label, s.style);
  for (const auto& r : rules_)
    if (!r.label.empty()) entries.emplace_back(r.label, r.style);
  if (!entries.empty()) {
    std::size_t longest = 0;
    for (const auto& e : entries) longest = std::max(longest, e.first.size());
    double bw = 40 + 6.6 * static_cast<double>(longest), bh = 8 + 17.0 * static_cast<double>(entries.size());
    double bx = W - right - bw - 6, by = top + 6;
    o << "<rect x=\"" << coord(bx) << "\" y=\"" << coord(by) << "\" width=\"" << coord(bw) << "\" height=\""
      << coord(bh) << "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#999999\"/>\n";
    for (std::size_t k = 0; k < entries.size(); ++k) {
      double y = by + 15 + 17.0 * static_cast<double>(k);
      const LineStyle& st = entries[k].second;
      if (st.line())
        o << "<line x1=\"" << coord(bx + 6) << "\" y1=\"" << coord(y - 4) << "\" x2=\"" << coord(bx + 30)
          << "\" y2=\"" << coord(y - 4) << "\"" << stroke(st) << "/>\n";
      if (st.markers())
        o << "<circle cx=\"" << coord(bx + 18) << "\" cy=\"" << coord(y - 4) << "\" r=\"2.6\" fill=\"" << st.color()
          << "\"/>\n";
      o << text(bx + 35, y, entries[k].first, "start", 12);
    }
  }
  o << "</svg>\n";
  return o.str();
}

void LinePlot::save(const std::string& path) const { write_text_file(path, svg()); }

// ----- heatmaps -----

std::string heatmap_svg(const Tensor& m, const HeatmapOptions& options) {
  HF_CHECK(m.defined() && m.dim() == 2 && is_floating(m.dtype()), "heatmap_svg",
           "expects a 2-D float tensor (rows, cols), got " << (m.defined() ? shape_str(m.shape()) : "undefined"));
  const std::size_t rows = m.size(0), cols = m.size(1);
  HF_CHECK(rows > 0 && cols > 0, "heatmap_svg", "empty matrix " << shape_str(m.shape()));
  std::vector<double> v = m.to_vector();
  double lo = INFINITY, hi = -INFINITY;
  for (double x : v)
    if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (options.vmin()) lo = *options.vmin();
  if (options.vmax()) hi = *options.vmax();
  if (!(lo < hi)) hi = lo + 1;
  const double cell = options.cell() > 0 ? options.cell()
                                         : std::clamp(480.0 / static_cast<double>(std::max(rows, cols)), 1.0, 40.0);
  const double left = 60, top = options.title().empty() ? 16 : 36, bottom = 48;
  const double pw = cell * static_cast<double>(cols), ph = cell * static_cast<double>(rows);
  const double bar = options.colorbar() ? 90 : 16;
  const double W = left + pw + bar, H = top + ph + bottom;
  std::ostringstream o;
  o << svg_open(W, H);
  if (!options.title().empty()) o << text(left + pw / 2, 22, options.title(), "middle", 15, " font-weight=\"bold\"");
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c)
      o << "<rect x=\"" << coord(left + cell * static_cast<double>(c)) << "\" y=\""
        << coord(top + cell * static_cast<double>(r)) << "\" width=\"" << coord(cell) << "\" height=\"" << coord(cell)
        << "\" fill=\"" << viridis((v[r * cols + c] - lo) / (hi - lo)) << "\"/>\n";
  o << "<rect x=\"" << coord(left) << "\" y=\"" << coord(top) << "\" width=\"" << coord(pw) << "\" height=\""
    << coord(ph) << "\" fill=\"none\" stroke=\"black\"/>\n";
  // Index ticks: at most about 10 per axis.
  auto index_ticks = [](std::size_t n) {
    std::size_t step = std::max<std::size_t>(1, (n + 9) / 10);
    std::vector<std::size_t> t;
    for (std::size_t i = 0; i < n; i += step) t.push_back(i);
    return t;
  };
  for (std::size_t c : index_ticks(cols))
    o << text(left + cell * (static_cast<double>(c) + 0.5), top + ph + 14, std::to_string(c), "middle", 10);
  for (std::size_t r : index_ticks(rows))
    o << text(left - 4, top + cell * (static_cast<double>(r) + 0.5) + 3, std::to_string(r), "end", 10);
  if (!options.xlabel().empty()) o << text(left + pw / 2, H - 10, options.xlabel(), "middle", 13);
  if (!options.ylabel().empty()) {
    double cy = top + ph / 2;
    o << text(18, cy, options.ylabel(), "middle", 13, " transform=\"rotate(-90 18 " + coord(cy) + ")\"");
  }
  if (options.colorbar()) {
    const double bx = left + pw + 16, bh = std::max(ph, 60.0);
    const int steps = 64;
    for (int i = 0; i < steps; ++i)
      o << "<rect x=\"" << coord(bx) << "\" y=\"" << coord(top + bh * i / steps) << "\" width=\"14\" height=\""
        << coord(bh / steps + 0.5) << "\" fill=\"" << viridis(1.0 - (i + 0.5) / steps) << "\"/>\n";
    o << "<rect x=\"" << coord(bx) << "\" y=\"" << coord(top) << "\" width=\"14\" height=\"" << coord(bh)
      << "\" fill=\"none\" stroke=\"black\"/>\n";
    Axis a;
    a.lo = lo;
    a.hi = hi;
    a.p0 = top + bh;
    a.p1 = top;
    for (double t : ticks(a)) o << text(bx + 18, a.map(t) + 4, num(t, 3), "start", 10);
  }
  o << "</svg>\n";
  return o.str();
}

void save_heatmap(const std::string& path, const Tensor& m, const HeatmapOptions& options) {
  write_text_file(path, heatmap_svg(m, options));
}

// ----- image grids -----

ImageGrid::ImageGrid(ImageGridOptions options) : options_(std::move(options)) {
  HF_CHECK(options_.hi() > options_.lo(), "ImageGrid",
           "hi (" << options_.hi() << ") must exceed lo (" << options_.lo() << ")");
  HF_CHECK(options_.scale() >= 1, "ImageGrid", "scale must be >= 1");
}

ImageGrid& ImageGrid::row(const std::string& label, const std::vector<Tensor>& images) {
  for (const auto& im : images)
    HF_CHECK(im.defined() && im.dim() == 2 && is_floating(im.dtype()), "ImageGrid::row",
             "row '" << label << "': images must be 2-D float tensors (H, W), got "
                     << (im.defined() ? shape_str(im.shape()) : "undefined"));
  rows_.emplace_back(label, images);
  return *this;
}

std::string ImageGrid::svg() const {
  const double s = static_cast<double>(options_.scale()), gap = 8;
  double cellw = 0, cellh = 0;
  std::size_t ncols = options_.columns().size();
  for (const auto& [label, ims] : rows_) {
    ncols = std::max(ncols, ims.size());
    for (const auto& im : ims) {
      cellw = std::max(cellw, s * static_cast<double>(im.size(1)));
      cellh = std::max(cellh, s * static_cast<double>(im.size(0)));
    }
  }
  std::size_t longest = 0;
  for (const auto& r : rows_) longest = std::max(longest, r.first.size());
  const double left = 12 + 7.0 * static_cast<double>(longest);
  const double top = (options_.title().empty() ? 8 : 30) + (options_.columns().empty() ? 0 : 18);
  const double W = left + (cellw + gap) * static_cast<double>(ncols) + gap;
  const double H = top + (cellh + gap) * static_cast<double>(rows_.size()) + gap;
  std::ostringstream o;
  o << svg_open(W, H);
  if (!options_.title().empty()) o << text(W / 2, 20, options_.title(), "middle", 15, " font-weight=\"bold\"");
  for (std::size_t c = 0; c < options_.columns().size(); ++c)
    o << text(left + gap + (cellw + gap) * static_cast<double>(c) + cellw / 2, top - 6, options_.columns()[c],
              "middle", 12);
  for (std::size_t r = 0; r < rows_.size(); ++r) {
    const double y0 = top + gap + (cellh + gap) * static_cast<double>(r);
    o << text(left - 4, y0 + cellh / 2 + 4, rows_[r].first, "end", 12);
    for (std::size_t c = 0; c < rows_[r].second.size(); ++c) {
      const Tensor& im = rows_[r].second[c];
      const double x0 = left + gap + (cellw + gap) * static_cast<double>(c);
      const std::size_t h = im.size(0), w = im.size(1);
      std::vector<double> v = im.to_vector();
      auto level = [&](double x) {
        if (!std::isfinite(x)) return 0;
        return static_cast<int>(std::lround(std::clamp((x - options_.lo()) / (options_.hi() - options_.lo()), 0.0, 1.0) * 255));
      };
      // One rect per run of equal grey levels in a row keeps the file small.
      for (std::size_t i = 0; i < h; ++i)
        for (std::size_t j = 0; j < w;) {
          int g = level(v[i * w + j]);
          std::size_t k = j + 1;
          while (k < w && level(v[i * w + k]) == g) ++k;
          o << "<rect x=\"" << coord(x0 + s * static_cast<double>(j)) << "\" y=\""
            << coord(y0 + s * static_cast<double>(i)) << "\" width=\"" << coord(s * static_cast<double>(k - j))
            << "\" height=\"" << coord(s) << "\" fill=\"" << gray(g) << "\"/>\n";
          j = k;
        }
      o << "<rect x=\"" << coord(x0) << "\" y=\"" << coord(y0) << "\" width=\"" << coord(s * static_cast<double>(w))
        << "\" height=\"" << coord(s * static_cast<double>(h)) << "\" fill=\"none\" stroke=\"#888888\"/>\n";
    }
  }
  o << "</svg>\n";
  return o.str();
}

void ImageGrid::save(const std::string& path) const { write_text_file(path, svg()); }

// ----- CSV -----

CsvWriter::CsvWriter(const std::string& path, const std::vector<std::string>& header)
    : path_(path), columns_(header.size()) {
  HF_CHECK(!header.empty(), "CsvWriter", "empty header for " << path);
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (i) text_ += ',';
    text_ += header[i];
  }
  text_ += '\n';
}

CsvWriter& CsvWriter::row(const std::vector<double>& values) {
  HF_CHECK(values.size() == columns_, "CsvWriter::row",
           path_ << ": row has " << values.size() << " values, header has " << columns_);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) text_ += ',';
    text_ += num(values[i], 10);
  }
  text_ += '\n';
  return *this;
}

void CsvWriter::close() {
  if (closed_) return;
  closed_ = true;
  write_text_file(path_, text_);
}

CsvWriter::~CsvWriter() {
  try {
    close();
  } catch (...) {
    // A destructor must not throw; call close() explicitly to see the error.
  }
}

}  // namespace hf
