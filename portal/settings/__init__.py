"""Settings package: `base` holds what every environment shares; `local`, `production` and `test` adjust it."""
