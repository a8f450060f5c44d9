// Letter images: the letters of HOPFIELD drawn procedurally from a 5x7 bitmap font into 24x24 grey pixels
// (ink -1, paper +1, edges softened by one 3x3 box blur). A small image set with a known answer for
// associative-memory experiments (examples/hopfield_images.cpp stores them and retrieves them from masked and
// noisy queries): several letters share most of their pixels (E and F, O and D), so corruptions that hide the
// difference produce the metastable averages the theory predicts. Drawn, not loaded, so no data folder is
// needed.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace hf {

inline constexpr std::size_t kLetterImageSide = 24;  // H = W; an image has 24 * 24 = 576 pixels

// The letters with a glyph, in order: "HOPFIELD".
const std::string& letter_image_letters();

// The image of one letter of letter_image_letters(), row-major (H * W) values in [-1, 1]; throws naming the
// letter for any other.
std::vector<double> letter_image(char letter);

}  // namespace hf
