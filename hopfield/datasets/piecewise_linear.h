// Piecewise-linear encoding of tabular features (Gorishniy, Rubachev & Babenko, "On Embeddings for
// Numerical Features in Tabular Deep Learning", NeurIPS 2022): each feature x_j is kept and followed by
// T_j values e_t = clamp((x_j - b_{t-1}) / (b_t - b_{t-1}), 0, 1), t = 1..T_j, with bin edges b_0 < ... <
// b_T fitted on training rows only (quantiles, or the distinct values themselves when there are at most
// bins + 1 of them).
//
// Why: many UCI tables code categories as ordinal numbers (flags, molec-biol-promoter, teaching). A
// network reading one standardised column per category can only draw one hyperplane through the codes;
// with edges at the distinct values the encoding is a thermometer code, from which a linear layer can
// form any function of the category (neighbouring differences are one-hot indicators), and for numeric
// columns it offers the threshold features that let random forests win on such tables.
//
// Legend: n rows, d input features, D = d + sum_j T_j output features; data (n, d) row-major doubles.
#pragma once

#include <cstddef>
#include <vector>

namespace hf {

struct PiecewiseLinearEncoder {
  std::vector<std::vector<double>> edges;  // d lists, each strictly increasing (T_j + 1 values, or 1 for a constant column)

  std::size_t input_dim() const { return edges.size(); }
  std::size_t output_dim() const;  // D
  // (n, d) -> (n, D): every row's d inputs followed by the encodings of feature 0, 1, ... in turn.
  std::vector<double> apply(const std::vector<double>& data) const;
};

// Fits the edges of every feature on the listed rows of an (n, d) buffer: at most `bins` bins per feature.
// Throws hf::Error (naming fit_piecewise_linear) for bins == 0, no rows, a row out of range, a buffer that is
// not whole rows, or a non-finite value in a fitted row.
PiecewiseLinearEncoder fit_piecewise_linear(const std::vector<double>& data, std::size_t d,
                                            const std::vector<std::size_t>& rows, std::size_t bins);

}  // namespace hf
