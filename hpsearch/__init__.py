"""hpsearch: hyperparameter search for neural networks."""
