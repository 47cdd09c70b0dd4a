"""Request and response models of the routes, one module per area, built once per process."""
