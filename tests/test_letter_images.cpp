// The letter images of datasets/letter_images.h: the letters, the canvas, ink where the glyph has it, paper
// away from it, and E and F differing only where their glyphs do (the bottom bar).
#include <doctest/doctest.h>

#include <cstddef>
#include <vector>

#include "hopfield/datasets/letter_images.h"
#include "hopfield/engine/check.h"

using namespace hf;

TEST_CASE("letter images: HOPFIELD on 24x24 grey pixels, ink -1 inside strokes, E and F differ at the bottom") {
  CHECK(letter_image_letters() == "HOPFIELD");
  const std::size_t side = kLetterImageSide;
  for (char c : letter_image_letters()) {
    const std::vector<double> im = letter_image(c);
    REQUIRE(im.size() == side * side);
    for (double v : im) CHECK((v >= -1 && v <= 1));
    CHECK(im[0] == 1.0);  // the corner is paper
  }
  // H's left stroke: glyph cell (row 3, column 0) covers pixels rows 10-12, columns 4-6 (3x scale, offset 1, 4);
  // its centre pixel has ink in all 9 neighbours.
  const std::vector<double> h = letter_image('H');
  CHECK(h[11 * side + 5] == -1.0);
  CHECK(h[11 * side + 12] == -1.0);  // the bar, glyph column 2
  CHECK(h[2 * side + 12] == 1.0);    // above the bar: H's top row has no ink in column 2
  // E and F share rows 0-5 of their glyph; E's bottom bar is glyph row 6: pixels from row 1 + 18 - 1 (blur).
  const std::vector<double> e = letter_image('E'), f = letter_image('F');
  std::size_t first_diff = side;
  for (std::size_t i = 0; i < side * side; ++i)
    if (e[i] != f[i] && i / side < first_diff) first_diff = i / side;
  CHECK(first_diff == 18);
  CHECK_THROWS_WITH_AS(letter_image('Z'), doctest::Contains("'Z'"), Error);
}
