"""The domain: the pure solver and the operations that change the shared stock model."""
