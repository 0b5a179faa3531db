"""dltrain: the helper package of the course *Training Deep Networks*.

Infrastructure shared by every notebook, never the answer to a graded exercise.

Modules (import the one you need, e.g. ``from dltrain import data, plotting``):

``data``        synthetic datasets, train/val/test splits, the 8x8 handwritten digits
``layers``      linear, ReLU, tanh and sigmoid layers as forward/backward pairs
``losses``      softmax cross-entropy and mean squared error, with gradients
``mlp``         a small multilayer perceptron that can record activations and gradients
``network``     networks composed of layer functions given to it (with state and a train/eval mode)
``training``    a training loop that takes an optimizer step and records a history
``optim``       plain SGD, momentum in CS231n's form, applying a step to every parameter
``gradcheck``   numerical gradients and relative errors
``testing``     checks with messages that say what was expected and what came back
``surfaces``    2-D test functions with gradients and Hessians
``plotting``    loss curves, contour plots with optimizer paths, per-layer histograms
``widgets``     slider-driven plots that fall back to a static plot without a front end
``guide``       errors that say which exercise a cell needs (every setup cell imports it)
``validate``    ``dltrain-validate NOTEBOOK``: run a notebook as saved, list its tests
``grading``     the notebook side of the autograder's hidden tests
"""

__version__ = "0.1.0"
