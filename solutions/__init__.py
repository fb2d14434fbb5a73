"""The reference solution of the MNIST kata: the eight steps of the tutorial."""
