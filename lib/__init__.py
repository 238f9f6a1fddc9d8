"""Small helpers every app may use: no models, no imports from the apps (the lowest layer)."""
