// Letter images (see hopfield/datasets/letter_images.h); moved here from examples/hopfield_images.cpp.
#include "hopfield/datasets/letter_images.h"

#include <array>

#include "hopfield/engine/check.h"

namespace hf {

namespace {

constexpr std::size_t kSide = kLetterImageSide, kD = kSide * kSide;

// 5x7 glyphs, row by row, '#' = ink.
struct Glyph {
  char name;
  std::array<const char*, 7> rows;
};
const Glyph kGlyphs[] = {
    {'H', {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
    {'O', {".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}},
    {'P', {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."}},
    {'F', {"#####", "#....", "#....", "####.", "#....", "#....", "#...."}},
    {'I', {".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."}},
    {'E', {"#####", "#....", "#....", "####.", "#....", "#....", "#####"}},
    {'L', {"#....", "#....", "#....", "#....", "#....", "#....", "#####"}},
    {'D', {"####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."}},
};

// The glyph scaled 3x into a 24x24 canvas, softened by one 3x3 box blur (grey edges), as values
// in [-1, 1] with ink -1: (d) float64.
std::vector<double> draw(const Glyph& g) {
  std::vector<double> ink(kD, 0.0);
  const std::size_t top = 1, left = 4;
  for (std::size_t r = 0; r < 7; ++r)
    for (std::size_t c = 0; c < 5; ++c)
      if (g.rows[r][c] == '#')
        for (std::size_t a = 0; a < 3; ++a)
          for (std::size_t b = 0; b < 3; ++b) ink[(top + 3 * r + a) * kSide + left + 3 * c + b] = 1.0;
  std::vector<double> out(kD);
  for (std::size_t r = 0; r < kSide; ++r)
    for (std::size_t c = 0; c < kSide; ++c) {
      double s = 0;
      int cnt = 0;
      for (int dr = -1; dr <= 1; ++dr)
        for (int dc = -1; dc <= 1; ++dc) {
          const long rr = static_cast<long>(r) + dr, cc = static_cast<long>(c) + dc;
          if (rr < 0 || cc < 0 || rr >= static_cast<long>(kSide) || cc >= static_cast<long>(kSide)) continue;
          s += ink[static_cast<std::size_t>(rr) * kSide + static_cast<std::size_t>(cc)];
          ++cnt;
        }
      out[r * kSide + c] = 1.0 - 2.0 * s / cnt;
    }
  return out;
}

}  // namespace

const std::string& letter_image_letters() {
  static const std::string letters = [] {
    std::string s;
    for (const Glyph& g : kGlyphs) s += g.name;
    return s;
  }();
  return letters;
}

std::vector<double> letter_image(char letter) {
  for (const Glyph& g : kGlyphs)
    if (g.name == letter) return draw(g);
  HF_FAIL("letter_image", "no glyph for '" << letter << "' (letters: " << letter_image_letters() << ")");
}

}  // namespace hf
