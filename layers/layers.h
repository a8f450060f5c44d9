// Everything of the basic layer set in one include: the Module base, initialisers, Linear, LayerNorm,
// Dropout, Embedding, Conv1d, Sequential and the activation modules.
#pragma once

#include "layers/activation.h"
#include "layers/conv1d.h"
#include "layers/dropout.h"
#include "layers/embedding.h"
#include "layers/init.h"
#include "layers/layer_norm.h"
#include "layers/linear.h"
#include "layers/module.h"
#include "layers/sequential.h"
