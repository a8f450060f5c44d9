// Dependency-free pictures for examples and experiments: SVG line plots, SVG heatmaps (association
// matrices), SVG image grids, plus CSV tables. Everything is plain text written directly, so no
// plotting or image library enters the build; PGM grayscale images live in engine/image.h.
//
// It sits in the library (not in examples/) so that every example and the tests link one copy.
//
//   LinePlot plot(PlotOptions().title("loss").xlabel("step").ylabel("loss").log_y(true));
//   plot.line("train", steps, train_loss);
//   plot.line("bound", steps, bound, LineStyle().dashed(true));
//   plot.save(out / "loss.svg");
//
//   save_heatmap(out / "assoc.svg", weights /* (rows, cols) */, HeatmapOptions().title("softmax"));
//
//   ImageGrid grid(ImageGridOptions().scale(4).columns({"stored", "query", "retrieved"}));
//   grid.row("H", {stored, query, retrieved});  // each (H, W), values mapped lo..hi -> black..white
//   grid.save(out / "retrieval.svg");
//
// Non-finite points are skipped (a line breaks there); on a log axis, non-positive values are skipped
// too. Files are written whole; failures throw hf::Error naming the path.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "hopfield/engine/arg.h"
#include "hopfield/engine/tensor.h"

namespace hf {

struct PlotOptions {
  HF_ARG(std::string, title);
  HF_ARG(std::string, xlabel);
  HF_ARG(std::string, ylabel);
  HF_ARG(bool, log_x) = false;
  HF_ARG(bool, log_y) = false;
  HF_ARG(std::optional<double>, ymin);  // fixed axis range; unset = from the data
  HF_ARG(std::optional<double>, ymax);
  HF_ARG(std::size_t, width) = 640;
  HF_ARG(std::size_t, height) = 420;
};

struct LineStyle {
  HF_ARG(std::string, color);  // any SVG colour; empty = next colour of the palette
  HF_ARG(bool, dashed) = false;
  HF_ARG(bool, markers) = false;  // a dot at each point
  HF_ARG(bool, line) = true;      // false with markers(true) gives a scatter plot
  HF_ARG(double, width) = 1.8;
};

class LinePlot {
 public:
  explicit LinePlot(PlotOptions options = PlotOptions());
  // x and y must have the same length (throws otherwise).
  LinePlot& line(const std::string& label, const std::vector<double>& x, const std::vector<double>& y,
                 LineStyle style = LineStyle());
  // A horizontal reference line across the plot (e.g. a predicted limit).
  LinePlot& hline(const std::string& label, double y, LineStyle style = LineStyle().dashed(true));
  // A vertical reference line (e.g. the classical capacity 0.138 d on an N axis).
  LinePlot& vline(const std::string& label, double x, LineStyle style = LineStyle().dashed(true));
  std::string svg() const;
  void save(const std::string& path) const;

 private:
  struct Series {
    std::string label;
    std::vector<double> x, y;
    LineStyle style;
  };
  PlotOptions options_;
  std::vector<Series> series_;
  struct Rule {
    std::string label;
    double at;
    bool vertical;
    LineStyle style;
  };
  std::vector<Rule> rules_;
};

struct HeatmapOptions {
  HF_ARG(std::string, title);
  HF_ARG(std::string, xlabel);
  HF_ARG(std::string, ylabel);
  HF_ARG(std::optional<double>, vmin);  // colour range; unset = data min / max
  HF_ARG(std::optional<double>, vmax);
  HF_ARG(double, cell) = 0.0;           // cell size in pixels; 0 = fit into about 480 x 480
  HF_ARG(bool, colorbar) = true;
};

// m: 2-D float tensor (rows, cols), drawn with row 0 at the top in a viridis-like colour map.
std::string heatmap_svg(const Tensor& m, const HeatmapOptions& options = HeatmapOptions());
void save_heatmap(const std::string& path, const Tensor& m, const HeatmapOptions& options = HeatmapOptions());

struct ImageGridOptions {
  HF_ARG(std::string, title);
  HF_ARG(std::vector<std::string>, columns);  // column headings
  HF_ARG(double, lo) = 0.0;                   // value shown black
  HF_ARG(double, hi) = 1.0;                   // value shown white
  HF_ARG(std::size_t, scale) = 4;             // screen pixels per image pixel
};

// Grayscale images (each a 2-D tensor (H, W)) laid out in labelled rows, drawn as SVG rectangles
// (one per pixel run of equal grey), so the file needs no embedded PNG.
class ImageGrid {
 public:
  explicit ImageGrid(ImageGridOptions options = ImageGridOptions());
  ImageGrid& row(const std::string& label, const std::vector<Tensor>& images);
  std::string svg() const;
  void save(const std::string& path) const;

 private:
  ImageGridOptions options_;
  std::vector<std::pair<std::string, std::vector<Tensor>>> rows_;
};

// A CSV table: header once, then rows of numbers (written with 10 significant digits).
class CsvWriter {
 public:
  CsvWriter(const std::string& path, const std::vector<std::string>& header);
  CsvWriter& row(const std::vector<double>& values);
  // Writes the file (also done by the destructor if not called; the destructor never throws).
  void close();
  ~CsvWriter();
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;

 private:
  std::string path_;
  std::string text_;
  std::size_t columns_ = 0;
  bool closed_ = false;
};

// Writes text to path, creating parent directories; throws hf::Error naming the path on failure.
void write_text_file(const std::string& path, const std::string& text);
// "&", "<", ">", quotes escaped for SVG/XML text.
std::string xml_escape(const std::string& s);

}  // namespace hf
