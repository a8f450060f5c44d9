// Everything of the basic layer set in one include: the Module base, initialisers, Linear, LayerNorm,
// Dropout, Embedding, Conv1d, Sequential and the activation modules.
#pragma once

#include "hopfield/layers/activation.h"
#include "hopfield/layers/conv1d.h"
#include "hopfield/layers/dropout.h"
#include "hopfield/layers/embedding.h"
#include "hopfield/layers/init.h"
#include "hopfield/layers/layer_norm.h"
#include "hopfield/layers/linear.h"
#include "hopfield/layers/module.h"
#include "hopfield/layers/sequential.h"
