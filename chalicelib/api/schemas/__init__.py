"""Request and response models, built once per process; views import them inside the view."""
